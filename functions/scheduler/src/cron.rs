//! The `fermyon:spin-cron@2.0.0` export.

use krug_spin_adapter::Ctx;

wit_bindgen::generate!({
    world: "spin-cron",
    path: "../../wit",
});

struct Cron;

impl Guest for Cron {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let ctx = Ctx::background("scheduler");
        let outcomes = krug_core::jobs::run_due_in(&ctx.job_env(), crate::jobs::all())
            .map_err(|e| Error::Other(format!("run_due: {e}")))?;
        let failed: Vec<_> = outcomes
            .iter()
            .filter(|o| o.outcome == "failed")
            .map(|o| format!("{}: {}", o.job, o.error.as_deref().unwrap_or("")))
            .collect();
        eprintln!(
            "{}",
            serde_json::json!({
                "level": if failed.is_empty() { "info" } else { "error" },
                "component": "scheduler",
                "request_id": ctx.request_id(),
                "cron_timestamp": metadata.timestamp,
                "jobs": outcomes,
            })
        );
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Other(failed.join("; ")))
        }
    }
}

export!(Cron);
