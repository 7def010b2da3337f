//! Importing a provider's filings: its entities (with their license passwords) and websites
//! (with their service IPs), from rows of its own records. Every row is validated; each is
//! applied whole or not at all, and a refused row never stops the rest. A row equal to what is
//! stored changes nothing, so importing the same file twice changes nothing; a website with an
//! open request is never changed.

use crate::error::StoreError;
use crate::language::Language;
use crate::ports::Filings;
use crate::validation::{validate_password, IpPolicy};
use crate::{password, Entity, Website, WebsiteStatus};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A row of the file, numbered from 1, as read: a JSON object (a CSV row is made into one).
pub struct RawRow {
    pub line: usize,
    pub fields: Map<String, Value>,
}

/// Why a row was refused: the line, the field at fault, a code and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub line: usize,
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub applied: usize,
    pub unchanged: usize,
    pub refused: Vec<Refusal>,
}

/// What the import is told: the service IPs this stage accepts, and whether to write.
pub struct ImportOptions {
    pub ip_policy: IpPolicy,
    pub dry_run: bool,
}

/// An entity as a row gives it: its password as a PHC hash, or in plain text to be hashed (or
/// checked against the stored hash, so that a plain password imported again changes nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRow {
    pub entity_id: String,
    pub name: String,
    pub entity_license_number: String,
    pub phone: String,
    pub email: String,
    pub language: Option<Language>,
    pub password: PasswordGiven,
}

#[derive(Clone, PartialEq, Eq)]
pub enum PasswordGiven {
    Hash(String),
    Plain(String),
}

/// Never prints a password, nor its hash.
impl std::fmt::Debug for PasswordGiven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordGiven::Hash(_) => "Hash(..)",
            PasswordGiven::Plain(_) => "Plain(..)",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebsiteRow {
    pub website_id: String,
    pub entity_id: String,
    pub domain: String,
    pub website_license_number: String,
    pub service_ips: Vec<String>,
}

enum Row {
    Entity(EntityRow),
    Website(WebsiteRow),
}

/// Rows applied at once: each is a read and a write or two.
const IMPORT_CONCURRENCY: usize = 32;

/// Imports `rows` into `store`: entities first, then websites (which may name entities of the
/// same file). `progress` is told how many rows are done, now and then.
pub async fn import<F: Filings>(
    store: &F,
    rows: Vec<RawRow>,
    options: &ImportOptions,
    progress: impl Fn(usize, usize),
) -> Result<ImportReport, StoreError> {
    let total = rows.len();
    let mut report = ImportReport::default();
    let mut seen = Seen::default();
    let (mut entities, mut websites) = (Vec::new(), Vec::new());
    for raw in rows {
        match parse(&raw, &options.ip_policy).and_then(|row| seen.first(raw.line, row)) {
            Ok(Row::Entity(entity)) => entities.push((raw.line, entity)),
            Ok(Row::Website(website)) => websites.push((raw.line, website)),
            Err(refusal) => report.refused.push(refusal),
        }
    }
    // What is stored of the rows' entities and websites, read in batches up front; the writes
    // stay conditional where it matters (a website's open request).
    let mut entity_ids: Vec<String> = entities.iter().map(|(_, e)| e.entity_id.clone()).collect();
    entity_ids.extend(websites.iter().map(|(_, w)| w.entity_id.clone()));
    let website_ids: Vec<String> = websites.iter().map(|(_, w)| w.website_id.clone()).collect();
    let stored = Stored {
        entities: store
            .entities(&entity_ids)
            .await?
            .into_iter()
            .map(|e| (e.entity_id.clone(), e))
            .collect(),
        websites: store
            .websites(&website_ids)
            .await?
            .into_iter()
            .map(|w| (w.website_id.clone(), w))
            .collect(),
    };
    let stored = &stored;
    let done = std::cell::Cell::new(report.refused.len());
    let tick = || {
        done.set(done.get() + 1);
        if done.get() % 1000 == 0 {
            progress(done.get(), total);
        }
    };
    let applied_entities: Vec<(usize, String, String, Result<Outcome, Refusal>)> =
        futures::stream::iter(entities.into_iter().map(|(line, row)| async move {
            let (id, license) = (row.entity_id.clone(), row.entity_license_number.clone());
            (
                line,
                id,
                license,
                apply_entity(store, line, row, stored, options.dry_run).await,
            )
        }))
        .buffer_unordered(IMPORT_CONCURRENCY)
        .inspect(|_| tick())
        .collect()
        .await;
    // A website's entity must be one of the file's, imported, or one already stored.
    let file_entities: HashMap<String, String> = applied_entities
        .iter()
        .filter(|(.., outcome)| outcome.is_ok())
        .map(|(_, id, license, _)| (id.clone(), license.clone()))
        .collect();
    let applied_websites: Vec<Result<Outcome, Refusal>> =
        futures::stream::iter(
            websites.into_iter().map(|(line, row)| {
                let file_entities = &file_entities;
                async move {
                    apply_website(store, line, row, file_entities, stored, options.dry_run).await
                }
            }),
        )
        .buffer_unordered(IMPORT_CONCURRENCY)
        .inspect(|_| tick())
        .collect()
        .await;
    let outcomes = applied_entities
        .into_iter()
        .map(|(.., outcome)| outcome)
        .chain(applied_websites);
    for outcome in outcomes {
        match outcome {
            Ok(Outcome::Applied) => report.applied += 1,
            Ok(Outcome::Unchanged) => report.unchanged += 1,
            Err(refusal) => report.refused.push(refusal),
        }
    }
    report.refused.sort_by_key(|r| r.line);
    progress(total, total);
    Ok(report)
}

enum Outcome {
    Applied,
    Unchanged,
}

/// The rows' entities and websites as stored before the import, by id.
struct Stored {
    entities: HashMap<String, Entity>,
    websites: HashMap<String, Website>,
}

/// The ids, domains and license numbers met so far: of two rows with the same, the later is
/// refused.
#[derive(Default)]
struct Seen {
    keys: HashMap<(&'static str, String), usize>,
}

impl Seen {
    fn first(&mut self, line: usize, row: Row) -> Result<Row, Refusal> {
        let keys: Vec<(&'static str, String)> = match &row {
            Row::Entity(e) => vec![
                ("entityId", e.entity_id.clone()),
                ("entityLicenseNumber", e.entity_license_number.clone()),
            ],
            Row::Website(w) => vec![
                ("websiteId", w.website_id.clone()),
                ("domain", w.domain.clone()),
                ("websiteLicenseNumber", w.website_license_number.clone()),
            ],
        };
        for (field, value) in &keys {
            if let Some(earlier) = self.keys.get(&(*field, value.clone())) {
                return Err(refusal(
                    line,
                    field,
                    "duplicate",
                    format!("{value} is on line {earlier} already"),
                ));
            }
        }
        for key in keys {
            self.keys.insert(key, line);
        }
        Ok(row)
    }
}

fn refusal(line: usize, field: &str, code: &'static str, message: String) -> Refusal {
    Refusal {
        line,
        field: field.into(),
        code,
        message,
    }
}

fn parse(raw: &RawRow, policy: &IpPolicy) -> Result<Row, Refusal> {
    let line = raw.line;
    let text = |field: &str| -> Result<String, Refusal> {
        match raw.fields.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(Value::String(_)) | None | Some(Value::Null) => Err(refusal(
                line,
                field,
                "missing_field",
                format!("{field} is required"),
            )),
            Some(_) => Err(refusal(
                line,
                field,
                "invalid_field",
                format!("{field} must be a string"),
            )),
        }
    };
    let optional = |field: &str| match raw.fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        _ => text(field).map(Some),
    };
    let checked = |field: &str, valid: fn(&str) -> Result<(), String>| {
        let value = text(field)?;
        valid(&value).map_err(|why| refusal(line, field, "invalid_field", why))?;
        Ok::<_, Refusal>(value)
    };
    match text("kind")?.as_str() {
        "entity" => {
            let password = match (
                optional("licensePassword")?,
                optional("licensePasswordHash")?,
            ) {
                (Some(plain), None) => {
                    validate_password(&plain).map_err(|e| {
                        refusal(line, "licensePassword", "invalid_field", e.to_string())
                    })?;
                    PasswordGiven::Plain(plain)
                }
                (None, Some(hash)) => {
                    valid_phc(&hash).map_err(|why| {
                        refusal(line, "licensePasswordHash", "invalid_field", why)
                    })?;
                    PasswordGiven::Hash(hash)
                }
                _ => {
                    return Err(refusal(
                        line,
                        "licensePassword",
                        "missing_field",
                        "give exactly one of licensePassword and licensePasswordHash".into(),
                    ))
                }
            };
            let language = match optional("language")?.as_deref() {
                None => None,
                Some("zh-CN") => Some(Language::ZhCn),
                Some("en") => Some(Language::En),
                Some(other) => {
                    return Err(refusal(
                        line,
                        "language",
                        "invalid_field",
                        format!("{other:?} is not zh-CN or en"),
                    ))
                }
            };
            Ok(Row::Entity(EntityRow {
                entity_id: checked("entityId", valid_id)?,
                name: checked("name", valid_name)?,
                entity_license_number: checked("entityLicenseNumber", valid_entity_license_number)?,
                phone: normalized_phone(&text("phone")?)
                    .map_err(|why| refusal(line, "phone", "invalid_field", why))?,
                email: checked("email", valid_email)?,
                language,
                password,
            }))
        }
        "website" => {
            let service_ips = match raw.fields.get("serviceIps") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|ip| ip.as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| {
                        refusal(
                            line,
                            "serviceIps",
                            "invalid_field",
                            "serviceIps must be a list of addresses".into(),
                        )
                    })?,
                None | Some(Value::Null) => {
                    return Err(refusal(
                        line,
                        "serviceIps",
                        "missing_field",
                        "serviceIps is required".into(),
                    ))
                }
                Some(_) => {
                    return Err(refusal(
                        line,
                        "serviceIps",
                        "invalid_field",
                        "serviceIps must be a list of addresses".into(),
                    ))
                }
            };
            let service_ips = crate::validation::validate_service_ips(&service_ips, &[], policy)
                .map_err(|e| refusal(line, "serviceIps", "invalid_field", e.to_string()))?;
            Ok(Row::Website(WebsiteRow {
                website_id: checked("websiteId", valid_id)?,
                entity_id: checked("entityId", valid_id)?,
                domain: checked("domain", valid_domain)?,
                website_license_number: checked(
                    "websiteLicenseNumber",
                    valid_website_license_number,
                )?,
                service_ips,
            }))
        }
        other => Err(refusal(
            line,
            "kind",
            "invalid_field",
            format!("{other:?} is not entity or website"),
        )),
    }
}

/// Ids: 1 to 128 letters, digits, `-`, `_` or `.`, starting with a letter or digit.
fn valid_id(id: &str) -> Result<(), String> {
    let ok = id.len() <= 128
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then_some(())
        .ok_or_else(|| format!("{id:?} is not an id (letters, digits, - _ ., at most 128)"))
}

fn valid_name(name: &str) -> Result<(), String> {
    (name.chars().count() <= 200 && !name.chars().any(char::is_control))
        .then_some(())
        .ok_or_else(|| "a name is at most 200 characters, none a control character".into())
}

/// The provinces' one-character abbreviations that begin a license number.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// `京ICP备12345678号`: a province, `ICP备`, 8 to 10 digits (newer numbers begin with the
/// year), `号`.
fn valid_entity_license_number(number: &str) -> Result<(), String> {
    let wrong = || format!("{number:?} is not an entity license number (e.g. 京ICP备12345678号)");
    let mut chars = number.chars();
    let province = chars.next().ok_or_else(wrong)?;
    let rest: String = chars.collect();
    let digits = rest
        .strip_prefix("ICP备")
        .and_then(|r| r.strip_suffix('号'))
        .ok_or_else(wrong)?;
    let ok = PROVINCES.contains(province)
        && (8..=10).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit());
    ok.then_some(()).ok_or_else(wrong)
}

/// `京ICP备12345678号-1`: the entity's number, `-`, the website's number.
fn valid_website_license_number(number: &str) -> Result<(), String> {
    let wrong = || format!("{number:?} is not a website license number (e.g. 京ICP备12345678号-1)");
    let (entity, n) = number.rsplit_once('-').ok_or_else(wrong)?;
    valid_entity_license_number(entity).map_err(|_| wrong())?;
    let ok = (1..=4).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()) && n != "0";
    ok.then_some(()).ok_or_else(wrong)
}

/// A domain name in ASCII (an internationalized one as its `xn--` form), lower case.
fn valid_domain(domain: &str) -> Result<(), String> {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| {
            tld.starts_with("xn--") || tld.chars().all(|c| c.is_ascii_lowercase())
        });
    ok.then_some(()).ok_or_else(|| {
        format!("{domain:?} is not a domain name (lower case; an internationalized one as xn--)")
    })
}

fn valid_email(email: &str) -> Result<(), String> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    ok.then_some(())
        .ok_or_else(|| format!("{email:?} is not an email address"))
}

/// A mainland mobile number, as `+86` and its 11 digits.
fn normalized_phone(phone: &str) -> Result<String, String> {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let national = digits.strip_prefix("+86").unwrap_or(&digits);
    let ok = national.len() == 11
        && national.starts_with('1')
        && national.chars().all(|c| c.is_ascii_digit());
    ok.then(|| format!("+86{national}"))
        .ok_or_else(|| format!("{phone:?} is not a mainland mobile number (+86 and 11 digits)"))
}

/// An argon2id hash in PHC form.
fn valid_phc(hash: &str) -> Result<(), String> {
    match argon2::PasswordHash::new(hash) {
        Ok(parsed) if parsed.algorithm.as_str() == "argon2id" && parsed.hash.is_some() => Ok(()),
        _ => Err("licensePasswordHash must be an argon2id hash in PHC form ($argon2id$...)".into()),
    }
}

async fn apply_entity<F: Filings>(
    store: &F,
    line: usize,
    row: EntityRow,
    stored: &Stored,
    dry_run: bool,
) -> Result<Outcome, Refusal> {
    let unavailable = |e: StoreError| refusal(line, "entityId", "store_unavailable", e.to_string());
    let stored = stored.entities.get(&row.entity_id);
    // The password as it will be stored: a plain one that the stored hash verifies keeps it.
    let password_hash = match (&row.password, &stored) {
        (PasswordGiven::Hash(hash), _) => hash.clone(),
        (PasswordGiven::Plain(plain), Some(e)) if password::verify(&e.password_hash, plain) => {
            e.password_hash.clone()
        }
        (PasswordGiven::Plain(plain), _) => password::hash(plain),
    };
    let entity = Entity {
        entity_id: row.entity_id,
        name: row.name,
        entity_license_number: row.entity_license_number,
        password_hash,
        phone: row.phone,
        email: row.email,
        language: row.language,
        // The store keeps these as they are for an entity it has.
        failed_password_attempts: 0,
        locked_until: None,
        retrieval: Default::default(),
    };
    if stored.is_some_and(|s| same_filing(s, &entity)) {
        return Ok(Outcome::Unchanged);
    }
    if !dry_run {
        store.write_entity(&entity).await.map_err(unavailable)?;
    }
    Ok(Outcome::Applied)
}

fn same_filing(stored: &Entity, imported: &Entity) -> bool {
    (
        &stored.name,
        &stored.entity_license_number,
        &stored.password_hash,
        &stored.phone,
        &stored.email,
        stored.language,
    ) == (
        &imported.name,
        &imported.entity_license_number,
        &imported.password_hash,
        &imported.phone,
        &imported.email,
        imported.language,
    )
}

async fn apply_website<F: Filings>(
    store: &F,
    line: usize,
    row: WebsiteRow,
    file_entities: &HashMap<String, String>,
    stored: &Stored,
    dry_run: bool,
) -> Result<Outcome, Refusal> {
    let unavailable =
        |e: StoreError| refusal(line, "websiteId", "store_unavailable", e.to_string());
    let entity_license = match file_entities.get(&row.entity_id) {
        Some(license) => Some(license.clone()),
        None => stored
            .entities
            .get(&row.entity_id)
            .map(|e| e.entity_license_number.clone()),
    };
    let Some(entity_license) = entity_license else {
        return Err(refusal(
            line,
            "entityId",
            "unknown_entity",
            format!("entity {} is neither in the file nor stored", row.entity_id),
        ));
    };
    if row
        .website_license_number
        .rsplit_once('-')
        .is_none_or(|(entity, _)| entity != entity_license)
    {
        return Err(refusal(
            line,
            "websiteLicenseNumber",
            "invalid_field",
            format!(
                "{} is not a number under its entity's {entity_license}",
                row.website_license_number
            ),
        ));
    }
    let stored = stored.websites.get(&row.website_id);
    let website = Website {
        website_id: row.website_id,
        entity_id: row.entity_id,
        domain: row.domain,
        website_license_number: row.website_license_number,
        service_ips: row.service_ips,
        status: WebsiteStatus::Active,
        open_request_id: None,
    };
    if let Some(stored) = &stored {
        let same = (
            &stored.entity_id,
            &stored.domain,
            &stored.website_license_number,
            &stored.service_ips,
        ) == (
            &website.entity_id,
            &website.domain,
            &website.website_license_number,
            &website.service_ips,
        );
        if same {
            return Ok(Outcome::Unchanged);
        }
        if stored.status != WebsiteStatus::Active {
            return Err(refusal(
                line,
                "websiteId",
                "website_cleared",
                format!(
                    "website {} was cleared from the license system",
                    website.website_id
                ),
            ));
        }
        if let Some(open) = &stored.open_request_id {
            return Err(refusal(
                line,
                "websiteId",
                "request_already_open",
                format!(
                    "website {} has an open request ({open}): it is not changed",
                    website.website_id
                ),
            ));
        }
    }
    if dry_run {
        return Ok(Outcome::Applied);
    }
    match store.write_website(&website).await {
        Ok(()) => Ok(Outcome::Applied),
        // A request was opened (or the website cleared) since it was read.
        Err(StoreError::Conflict(why)) => {
            Err(refusal(line, "websiteId", "request_already_open", why))
        }
        Err(e) => Err(unavailable(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_numbers_domains_phones_and_hashes_are_checked() {
        for good in ["京ICP备12345678号", "粤ICP备2023012345号"] {
            assert!(valid_entity_license_number(good).is_ok(), "{good}");
        }
        for bad in [
            "京ICP备1234567号",
            "X ICP备12345678号",
            "京ICP12345678号",
            "京ICP备12345678",
        ] {
            assert!(valid_entity_license_number(bad).is_err(), "{bad}");
        }
        assert!(valid_website_license_number("京ICP备12345678号-1").is_ok());
        for bad in [
            "京ICP备12345678号",
            "京ICP备12345678号-",
            "京ICP备12345678号-0",
            "京ICP备12345678号-a",
        ] {
            assert!(valid_website_license_number(bad).is_err(), "{bad}");
        }
        for good in ["example.cn", "a-b.example.com.cn", "xn--fiqs8s.xn--fiqs8s"] {
            assert!(valid_domain(good).is_ok(), "{good}");
        }
        for bad in [
            "example",
            "Example.cn",
            "-a.cn",
            "a..cn",
            "例子.中国",
            "a.c1",
        ] {
            assert!(valid_domain(bad).is_err(), "{bad}");
        }
        assert_eq!(normalized_phone("138 0013 8000").unwrap(), "+8613800138000");
        assert_eq!(
            normalized_phone("+8613800138000").unwrap(),
            "+8613800138000"
        );
        assert!(normalized_phone("+8612345").is_err());
        assert!(valid_phc(&password::hash("a-password")).is_ok());
        assert!(valid_phc("$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaA").is_err());
        assert!(valid_phc("plain").is_err());
    }
}
