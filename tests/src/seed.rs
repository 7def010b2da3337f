//! The one place the stack's data is seeded: the demo customers and reviewer `make up` writes
//! (`.local/demo.json`), the bench's load, and each end-to-end test's own customers. Entities and
//! websites go in through the provider's import (`icp_domain::import`, as `icp-admin import`
//! does: the API has no route that creates them), license passwords hashed on the way.

use icp_adapters::dynamo::{DynamoStore, Tables};
use icp_domain::import::{import, ImportOptions, RawRow};
use icp_domain::ports::Filings;
use icp_domain::validation::IpPolicy;
use icp_domain::{Entity, StoreError, Website, WebsiteStatus};
use serde_json::{json, Value};

/// The stack's outputs `make up` wrote to `.local/stack.json`, and its AWS configuration.
pub struct Deployed {
    pub outputs: Value,
    pub config: aws_config::SdkConfig,
}

impl Deployed {
    pub async fn read() -> Deployed {
        let outputs = crate::read_json("stack.json");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(icp_adapters::aws::sdk_https_client())
            .endpoint_url(outputs["localstackUrl"].as_str().unwrap())
            .region(aws_config::Region::new(
                outputs["region"].as_str().unwrap().to_string(),
            ))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "local",
            ))
            .load()
            .await;
        Deployed { outputs, config }
    }

    pub fn output(&self, name: &str) -> &str {
        self.outputs[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is not in .local/stack.json"))
    }

    /// Tokens signed as the local OpenID Connect provider signs them.
    pub fn issuer(&self) -> crate::identity::Issuer {
        crate::identity::Issuer::read(&self.outputs)
    }

    pub async fn secret(&self, output: &str) -> String {
        aws_sdk_secretsmanager::Client::new(&self.config)
            .get_secret_value()
            .secret_id(self.output(output))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{output}: {e}"))
            .secret_string
            .unwrap()
    }
}

/// Writes entities and websites into the deployed tables, through the provider's import
/// (`icp_domain::import`, what `icp-admin import` runs).
pub struct Seeder {
    pub store: DynamoStore,
}

impl Seeder {
    pub fn new(deployed: &Deployed) -> Seeder {
        let tables = Tables {
            entities: deployed.output("EntitiesTableName").into(),
            websites: deployed.output("WebsitesTableName").into(),
            requests: deployed.output("RequestsTableName").into(),
            idempotency: deployed.output("IdempotencyTableName").into(),
            notifications: deployed.output("NotificationsTableName").into(),
        };
        let client = aws_sdk_dynamodb::Client::new(&deployed.config);
        Seeder {
            store: DynamoStore::new(client, tables),
        }
    }

    /// Imports the entity (with `license_password`) and its websites. With `keep_existing`,
    /// an entity or website already there is left as it is (a running stack's demo data keeps
    /// its state).
    pub async fn customer(
        &self,
        entity: &Entity,
        license_password: &str,
        websites: &[Website],
        keep_existing: bool,
    ) {
        let mut rows = Vec::new();
        let stored = |found: Result<Option<_>, StoreError>| {
            keep_existing && found.expect("reading the seeded tables").is_some()
        };
        if !stored(
            Filings::get_entity(&self.store, &entity.entity_id)
                .await
                .map(|e| e.map(|_| ())),
        ) {
            rows.push(json!({
                "kind": "entity", "entityId": entity.entity_id, "name": entity.name,
                "entityLicenseNumber": entity.entity_license_number, "phone": entity.phone,
                "email": entity.email, "language": entity.language,
                "licensePassword": license_password,
            }));
        }
        for website in websites {
            let found = Filings::get_website(&self.store, &website.website_id).await;
            if !stored(found.map(|w| w.map(|_| ()))) {
                rows.push(json!({
                    "kind": "website", "websiteId": website.website_id,
                    "entityId": website.entity_id, "domain": website.domain,
                    "websiteLicenseNumber": website.website_license_number,
                    "serviceIps": website.service_ips,
                }));
            }
        }
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| RawRow {
                line: i + 1,
                fields: row.as_object().cloned().expect("a row is an object"),
            })
            .collect();
        // The stack's own fixtures use the documentation ranges.
        let options = ImportOptions {
            ip_policy: IpPolicy {
                allow_documentation: true,
                ..IpPolicy::default()
            },
            dry_run: false,
        };
        let report = import(&self.store, rows, &options, |_, _| {})
            .await
            .expect("seeding: the tables");
        assert!(
            report.refused.is_empty(),
            "seeding refused: {:?}",
            report.refused
        );
    }
}

/// An entity with no failed password checks.
pub fn entity(entity_id: &str, name: &str, license: &str, phone: &str, email: &str) -> Entity {
    Entity {
        entity_id: entity_id.into(),
        name: name.into(),
        entity_license_number: license.into(),
        password_hash: String::new(),
        phone: phone.into(),
        email: email.into(),
        language: None,
        failed_password_attempts: 0,
        locked_until: None,
        retrieval: Default::default(),
    }
}

/// An active website with no open request.
pub fn website(website_id: &str, entity: &Entity, domain: &str, n: usize, ip: &str) -> Website {
    Website {
        website_id: website_id.into(),
        entity_id: entity.entity_id.clone(),
        domain: domain.into(),
        website_license_number: format!("{}-{n}", entity.entity_license_number),
        service_ips: vec![ip.into()],
        status: WebsiteStatus::Active,
        open_request_id: None,
    }
}

/// The demo data: two customers (entities with a license password, phone and email) with three
/// websites each, and one reviewer.
struct DemoCustomer {
    /// Who signs in for the entity on the local provider's login page, and with what.
    username: &'static str,
    sign_in_password: &'static str,
    entity_id: &'static str,
    name: &'static str,
    license: &'static str,
    password: &'static str,
    phone: &'static str,
    email: &'static str,
    domains: [&'static str; 3],
    ip_base: &'static str,
}

const DEMO_CUSTOMERS: [DemoCustomer; 2] = [
    DemoCustomer {
        username: "yunfan",
        sign_in_password: "Yunfan-Login-2026",
        entity_id: "ent-bj-yunfan",
        name: "北京云帆科技有限公司 (Beijing Yunfan Technology Co., Ltd.)",
        license: "京ICP备20231234号",
        password: "Yunfan-Filing-2026",
        phone: "+8613800000001",
        email: "filing@yunfan.example.cn",
        domains: [
            "yunfan.example.cn",
            "shop.yunfan.example.cn",
            "blog.yunfan.example.cn",
        ],
        ip_base: "203.0.113.",
    },
    DemoCustomer {
        username: "haitao",
        sign_in_password: "Haitao-Login-2026",
        entity_id: "ent-sh-haitao",
        name: "上海海涛网络有限公司 (Shanghai Haitao Network Co., Ltd.)",
        license: "沪ICP备20235678号",
        password: "Haitao-Filing-2026",
        phone: "+8613900000002",
        email: "icp@haitao.example.cn",
        domains: [
            "haitao.example.cn",
            "m.haitao.example.cn",
            "api.haitao.example.cn",
        ],
        ip_base: "198.51.100.",
    },
];
/// The demo reviewer and operator: their ids (`sub`), user names and sign-in passwords.
const DEMO_REVIEWER: Person = Person {
    sub: "rev-demo",
    username: "reviewer",
    password: "Reviewer-Login-2026",
    name: "审核员 (Reviewer)",
};
const DEMO_OPERATOR: Person = Person {
    sub: "ops-demo",
    username: "operator",
    password: "Operator-Login-2026",
    name: "运维 (Operator)",
};
/// The template's `ReviewerEmails` as the local deploy sets it.
const DEMO_REVIEWER_EMAIL: &str = "reviewer@provider.example.com";
/// Tokens the tests and the bench sign themselves last a day, the most the API accepts.
const TOKEN_SECONDS: i64 = icp_edge::auth::MAX_LIFETIME_SECONDS;

struct Person {
    sub: &'static str,
    username: &'static str,
    password: &'static str,
    name: &'static str,
}

impl Person {
    /// The person as the local provider's account list takes it (`infra/local/oidc/accounts.mjs`).
    fn account(&self, role: &str) -> Value {
        account(
            self.sub,
            self.username,
            self.password,
            role,
            None,
            self.name,
        )
    }
}

fn account(
    sub: &str,
    username: &str,
    password: &str,
    role: &str,
    entity_id: Option<&str>,
    name: &str,
) -> Value {
    let mut account =
        json!({"sub": sub, "username": username, "password": password, "role": role, "name": name});
    if let Some(entity_id) = entity_id {
        account["entityId"] = entity_id.into();
    }
    account
}

/// Seeds the demo data (keeping what a running stack has) and answers what `.local/demo.json`
/// holds, less the tokens: the API's address, the customers with their user names, sign-in
/// and license passwords, the reviewer's and operator's sign-in, the authority simulator's,
/// and the `accounts` for the local provider. `infra/local/oidc/demo-sign-in.mjs` registers the
/// accounts, signs each person in on the login page and puts their tokens in.
pub async fn demo(deployed: &Deployed) -> Value {
    let seeder = Seeder::new(deployed);
    let mut customers = Vec::new();
    let mut accounts = vec![
        DEMO_REVIEWER.account("reviewer"),
        DEMO_OPERATOR.account("operator"),
    ];
    for c in &DEMO_CUSTOMERS {
        let entity = entity(c.entity_id, c.name, c.license, c.phone, c.email);
        let websites: Vec<Website> = (1..)
            .zip(c.domains)
            .map(|(n, domain)| {
                let id = format!("web-{}", domain.replace('.', "-"));
                website(&id, &entity, domain, n, &format!("{}{}", c.ip_base, 10 + n))
            })
            .collect();
        seeder.customer(&entity, c.password, &websites, true).await;
        accounts.push(account(
            &format!("user-{}", c.username),
            c.username,
            c.sign_in_password,
            "customer",
            Some(c.entity_id),
            c.name,
        ));
        customers.push(json!({
            "username": c.username,
            "password": c.sign_in_password,
            "entityId": c.entity_id,
            "licensePassword": c.password,
            "phone": c.phone,
            "email": c.email,
            "websites": websites.iter().map(|w| json!({"websiteId": w.website_id, "domain": w.domain})).collect::<Vec<_>>(),
        }));
    }
    let api_url = deployed.output("apiUrl");
    json!({
        "apiUrl": api_url,
        "consoleUrl": format!("{api_url}/console/index.html"),
        "localstackUrl": deployed.output("localstackUrl"),
        "region": deployed.output("region"),
        "customers": customers,
        "reviewerEmail": DEMO_REVIEWER_EMAIL,
        "signIn": {
            "issuer": deployed.output("OidcIssuer"),
            "reviewer": {"username": DEMO_REVIEWER.username, "password": DEMO_REVIEWER.password},
            "operator": {"username": DEMO_OPERATOR.username, "password": DEMO_OPERATOR.password},
        },
        "accounts": accounts,
        "authority": {
            "simulatorUrl": format!("{api_url}/authority-sim"),
            "callbackUrl": format!("{api_url}/authority/callbacks"),
            "secret": deployed.secret("AuthoritySecretArn").await,
        },
    })
}

/// The browser test's own people (`infra/local/console_test.sh`): `count` fresh customers with
/// three websites each, a reviewer and a second one, and the operator: each with a user name and
/// sign-in password for the local provider's login page (`accounts`, which console_test.sh
/// registers) and a token for the test's own API calls.
pub async fn console(deployed: &Deployed, count: usize) -> Value {
    const PASSWORD: &str = "Console-Filing-2026";
    const SIGN_IN_PASSWORD: &str = "Console-Login-2026";
    let seeder = Seeder::new(deployed);
    let issuer = deployed.issuer();
    let expires = chrono::Utc::now().timestamp() + TOKEN_SECONDS;
    let token = |sub: &str, role: &str| issuer.token(sub, role, expires);
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut customers = Vec::new();
    let reviewer = format!("rev-console-{run}");
    let mut accounts = vec![account(
        &reviewer,
        &reviewer,
        SIGN_IN_PASSWORD,
        "reviewer",
        None,
        "审核员 (Reviewer)",
    )];
    for n in 0..count {
        let entity_id = format!("ent-console-{run}-{n}");
        let entity = entity(
            &entity_id,
            &format!("控制台测试公司 {n} (Console Test Co. {n})"),
            "京ICP备20269999号",
            &format!(
                "+86136{:04}{n:04}",
                u32::from_str_radix(&run[..4], 16).unwrap() % 10_000
            ),
            &format!("{entity_id}@console.example.cn"),
        );
        let websites: Vec<Website> = (1..=3)
            .map(|k| {
                let domain = format!("site{k}.{n}.{run}.console.example.cn");
                website(
                    &format!("web-console-{run}-{n}-{k}"),
                    &entity,
                    &domain,
                    k,
                    &format!("192.0.2.{}", 10 + k),
                )
            })
            .collect();
        seeder.customer(&entity, PASSWORD, &websites, false).await;
        let username = format!("console-{run}-{n}");
        accounts.push(account(
            &entity_id,
            &username,
            SIGN_IN_PASSWORD,
            "customer",
            Some(&entity_id),
            &entity.name,
        ));
        customers.push(json!({
            "username": username,
            "password": SIGN_IN_PASSWORD,
            "token": token(&entity_id, "customer"),
            "entityId": entity_id,
            "licensePassword": PASSWORD,
            "phone": entity.phone,
            "websites": websites.iter().map(|w| json!({"websiteId": w.website_id, "domain": w.domain, "serviceIps": w.service_ips})).collect::<Vec<_>>(),
        }));
    }
    let api_url = deployed.output("apiUrl");
    json!({
        "apiUrl": api_url,
        "consoleUrl": format!("{api_url}/console/index.html"),
        "issuer": deployed.output("OidcIssuer"),
        "customers": customers,
        "reviewer": {"username": reviewer, "password": SIGN_IN_PASSWORD},
        "reviewerToken": token(&reviewer, "reviewer"),
        "otherReviewerToken": token("rev-console-other", "reviewer"),
        "operatorToken": token(DEMO_OPERATOR.sub, "operator"),
        "accounts": accounts,
    })
}

/// `count` fresh websites of this run, `per_entity` to an entity whose license password is
/// `password`: `[{"websiteId", "token"}]` (the owner's customer token) for `make bench`'s load.
pub async fn load(deployed: &Deployed, count: usize, per_entity: usize, password: &str) -> Value {
    let seeder = Seeder::new(deployed);
    let issuer = deployed.issuer();
    let expires = chrono::Utc::now().timestamp() + TOKEN_SECONDS;
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut seeded = Vec::new();
    for first in (0..count).step_by(per_entity.max(1)) {
        let entity_id = format!("ent-bench-{run}-{}", first / per_entity.max(1));
        let entity = entity(
            &entity_id,
            &format!("Bench entity {entity_id}"),
            "京ICP备20260000号",
            "+8613700000000",
            &format!("{entity_id}@bench.example.cn"),
        );
        let websites: Vec<Website> = (first..count.min(first + per_entity.max(1)))
            .map(|n| {
                let domain = format!("site{n}.{run}.bench.example.cn");
                website(
                    &format!("web-bench-{run}-{n}"),
                    &entity,
                    &domain,
                    n - first + 1,
                    "203.0.113.10",
                )
            })
            .collect();
        seeder.customer(&entity, password, &websites, false).await;
        let token = issuer.token(&entity_id, "customer", expires);
        seeded.extend(
            websites
                .iter()
                .map(|w| json!({"websiteId": w.website_id, "token": token})),
        );
    }
    Value::Array(seeded)
}
