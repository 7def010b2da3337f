//! The languages people read the system in: Chinese first, English beside it. Codes and enum
//! values never change with the language; only texts meant for people do.

use serde::{Deserialize, Serialize};

/// Stored by its tag (an entity's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// The language an `Accept-Language` header value asks for: the first supported tag in
    /// order of preference (q-values honoured, equal ones in the order given), any `zh*` being
    /// Chinese; English when it asks for neither, or nothing.
    pub fn from_accept_language(header: Option<&str>) -> Language {
        let mut ranges: Vec<(f32, &str)> = header
            .unwrap_or_default()
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, tag))
            })
            .collect();
        // A stable sort keeps the order given among equal preferences.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges
            .into_iter()
            .find_map(|(_, tag)| Language::of_tag(tag))
            .unwrap_or(Language::En)
    }

    fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("zh") {
            Some(Language::ZhCn)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    }

    /// The tag the API names it by.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// The language after this one, in a text that has both.
    pub fn other(self) -> Language {
        match self {
            Language::ZhCn => Language::En,
            Language::En => Language::ZhCn,
        }
    }
}

/// Text in both languages the system speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
    pub en: String,
}

impl Text {
    pub fn new(zh_cn: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            zh_cn: zh_cn.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::ZhCn => &self.zh_cn,
            Language::En => &self.en,
        }
    }
}

/// Whether `text` holds Chinese (CJK) characters: what the tests ask of every Chinese text.
pub fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_first_supported_tag() {
        for (header, expected) in [
            (None, Language::En),
            (Some(""), Language::En),
            (Some("zh-CN"), Language::ZhCn),
            (Some("zh"), Language::ZhCn),
            (Some("zh-Hans-CN,zh;q=0.9"), Language::ZhCn),
            (Some("ZH-tw"), Language::ZhCn),
            (Some("en-US,en;q=0.9"), Language::En),
            (Some("fr-FR, zh-CN;q=0.8, en;q=0.5"), Language::ZhCn),
            (Some("fr, en;q=0.7, zh;q=0.9"), Language::ZhCn),
            (Some("en;q=0.9, zh-CN"), Language::ZhCn),
            (Some("zh;q=0, en"), Language::En),
            (Some("de, fr;q=0.8"), Language::En),
            (Some("*"), Language::En),
        ] {
            assert_eq!(
                Language::from_accept_language(header),
                expected,
                "{header:?}"
            );
        }
    }
}
