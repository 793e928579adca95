//! The nine business categories of the club.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// A business category (also the unit of the tier "categories" count and of
/// the first-purchase-in-category bonus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Hair, nails, spa.
    Beauty,
    /// Cosmetology.
    Cosmetology,
    /// Dentistry (medical).
    Dentistry,
    /// Medicine (medical).
    Medicine,
    /// Restaurants, food market.
    Gastronomy,
    /// Florists.
    Floristry,
    /// Optics.
    Optics,
    /// Home goods and services.
    Home,
    /// Legal services.
    Legal,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 9] = [
        Category::Beauty,
        Category::Cosmetology,
        Category::Dentistry,
        Category::Medicine,
        Category::Gastronomy,
        Category::Floristry,
        Category::Optics,
        Category::Home,
        Category::Legal,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Beauty => "beauty",
            Category::Cosmetology => "cosmetology",
            Category::Dentistry => "dentistry",
            Category::Medicine => "medicine",
            Category::Gastronomy => "gastronomy",
            Category::Floristry => "floristry",
            Category::Optics => "optics",
            Category::Home => "home",
            Category::Legal => "legal",
        }
    }

    /// Parses a wire name as the value of `field` (`INVALID_CATEGORY`).
    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == input.trim())
            .ok_or_else(|| {
                InvalidValue::new(
                    "INVALID_CATEGORY",
                    field,
                    "category must be one of beauty, cosmetology, dentistry, medicine, \
                     gastronomy, floristry, optics, home, legal",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str(), "category").unwrap(), c);
        }
        assert!(Category::parse("cars", "category").is_err());
    }
}
