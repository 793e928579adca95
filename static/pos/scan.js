// The till's camera scanner: the browser's BarcodeDetector (QR codes and the
// EAN-13 card barcode) where it exists, else jsQR (loaded on first use) on
// frames of the rear camera drawn onto a canvas.

let jsqrPromise = null;

// jsQR's browser build sets the global `jsQR`; it is fetched only when a
// browser without BarcodeDetector first opens the camera.
function loadJsQr() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  if (!jsqrPromise) {
    jsqrPromise = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/jsqr.js';
      s.async = true;
      s.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error('jsqr')));
      s.onerror = () => {
        jsqrPromise = null;
        reject(new Error('jsqr'));
      };
      document.head.append(s);
    });
  }
  return jsqrPromise;
}

// A function video → decoded text or null, for the best decoder available.
async function makeDecoder() {
  if ('BarcodeDetector' in window) {
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = ['qr_code', 'ean_13'].filter((f) => supported.includes(f));
      if (formats.length) {
        const detector = new window.BarcodeDetector({ formats });
        return async (video) => {
          const found = await detector.detect(video);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch {
      /* fall back to jsQR */
    }
  }
  const jsQR = await loadJsQr();
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    const w = video.videoWidth;
    const hgt = video.videoHeight;
    if (!w || !hgt) return null;
    // Scaled down: a QR on a phone screen decodes fine at 640 px and the
    // frame loop stays light.
    const scale = Math.min(1, 640 / Math.max(w, hgt));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(hgt * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const hit = jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
    return hit && hit.data ? hit.data : null;
  };
}

/** A Russian sentence for why the camera could not start. */
export function cameraProblem(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'Нет доступа к камере. Разрешите камеру в настройках браузера или введите номер вручную.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'Камера не найдена. Введите номер вручную.';
  if (name === 'NotReadableError') return 'Камера занята другим приложением. Закройте его или введите номер вручную.';
  if (err && err.message === 'jsqr') return 'Не удалось загрузить сканер. Введите номер вручную.';
  return 'Камера недоступна. Введите номер вручную.';
}

/**
 * Starts the rear camera into `video` and calls `onCode(text)` once for the
 * first code it reads. Resolves to a stop() function; rejects when the
 * camera cannot start (see cameraProblem).
 */
export async function startScan(video, onCode) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const e = new Error('no camera');
    e.name = 'NotSupportedError';
    throw e;
  }
  const decode = await makeDecoder();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  let stopped = false;
  let timer = null;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  };
  video.muted = true;
  video.setAttribute('playsinline', '');
  video.srcObject = stream;
  try {
    await video.play();
  } catch {
    /* autoplay of a muted stream is allowed; a refusal shows a still frame */
  }
  const tick = async () => {
    if (stopped) return;
    let text = null;
    try {
      text = await decode(video);
    } catch {
      text = null;
    }
    if (stopped) return;
    if (text) {
      stop();
      onCode(text);
      return;
    }
    timer = setTimeout(tick, 150);
  };
  tick();
  return stop;
}
