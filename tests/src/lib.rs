//! Support for the end-to-end tests: the running stack's addresses (from `.local/`), fresh
//! customers seeded into its tables (`seed`, which also seeds the demo data and the bench's),
//! and an HTTP client speaking the API contract.

pub mod identity;
pub mod seed;

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "E2e-Licence-Pass";
/// The provider's SMS signature: the template's default `SmsSignature`, which the local deploy
/// keeps.
pub const SMS_SIGNATURE: &str = "【备案中心】";
/// LocalStack's Lambda API takes any signature: the calls the tests make to it directly.
const LAMBDA_AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0";

pub struct Stack {
    pub api_url: String,
    pub demo: Value,
    outputs: Value,
    http: Client,
    pub issuer: identity::Issuer,
    vault_secret: String,
    dynamodb: aws_sdk_dynamodb::Client,
    sfn: aws_sdk_sfn::Client,
    seeder: seed::Seeder,
}

pub(crate) fn read_json(name: &str) -> Value {
    let path = local_state().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the stack is not up (make up / make test)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A customer of our own, so tests never compete for the demo websites.
pub struct Customer {
    pub entity_id: String,
    pub token: String,
    pub website_ids: Vec<String>,
    pub domains: Vec<String>,
    pub phone: String,
    pub email: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub request_id: Option<String>,
}

impl Stack {
    pub async fn connect() -> Stack {
        let deployed = seed::Deployed::read().await;
        let vault_secret = deployed.secret("VaultSecretArn").await;
        Stack {
            api_url: deployed.output("apiUrl").to_string(),
            demo: read_json("demo.json"),
            http: icp_adapters::tls::http_client(Duration::from_secs(30)).unwrap(),
            issuer: identity::Issuer::read(&deployed.outputs),
            vault_secret,
            dynamodb: aws_sdk_dynamodb::Client::new(&deployed.config),
            sfn: aws_sdk_sfn::Client::new(&deployed.config),
            seeder: seed::Seeder::new(&deployed),
            outputs: deployed.outputs,
        }
    }

    /// A token for `sub` in `role`, an hour long, signed as the local provider signs them.
    pub fn token(&self, sub: &str, role: &str) -> String {
        self.issuer
            .token(sub, role, chrono::Utc::now().timestamp() + 3600)
    }

    /// A new entity with `websites` active websites, written straight into the stack's tables.
    pub async fn new_customer(&self, websites: usize) -> Customer {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let phone = format!(
            "+86137{:08}",
            u32::from_str_radix(&id[..7], 16).unwrap() % 100_000_000
        );
        let email = format!("{id}@e2e.example.cn");
        let entity = seed::entity(
            &format!("ent-e2e-{id}"),
            "E2E Test Co",
            "京ICP备99999999号",
            &phone,
            &email,
        );
        let sites: Vec<_> = (1..=websites)
            .map(|n| {
                let domain = format!("site{n}.{id}.example.cn");
                let ip = format!("192.0.2.{n}");
                seed::website(&format!("web-e2e-{id}-{n}"), &entity, &domain, n, &ip)
            })
            .collect();
        self.seeder.customer(&entity, PASSWORD, &sites, false).await;
        Customer {
            token: self.token(&entity.entity_id, "customer"),
            entity_id: entity.entity_id,
            website_ids: sites.iter().map(|w| w.website_id.clone()).collect(),
            domains: sites.into_iter().map(|w| w.domain).collect(),
            phone,
            email,
        }
    }

    /// One API call; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.api_url));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        reply(req.send().await.expect("the API answers")).await
    }

    /// A JSON POST of exact bytes with the given headers, for signed calls.
    pub async fn raw_post(&self, path: &str, body: &str, headers: &[(&str, String)]) -> Reply {
        let mut all = vec![("content-type", "application/json".to_string())];
        all.extend(headers.iter().cloned());
        self.post_bytes(path, body, &all).await
    }

    /// A POST of exact bytes with exactly the given headers.
    pub async fn post_bytes(&self, path: &str, body: &str, headers: &[(&str, String)]) -> Reply {
        let mut req = self
            .http
            .post(format!("{}{path}", self.api_url))
            .body(body.to_string());
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        reply(req.send().await.expect("the API answers")).await
    }

    /// A GET with a raw Authorization header (not a bearer token).
    pub async fn get_with_authorization(&self, path: &str, authorization: &str) -> Reply {
        let req = self
            .http
            .get(format!("{}{path}", self.api_url))
            .header("authorization", authorization);
        reply(req.send().await.expect("the API answers")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), &[], None).await
    }

    /// `POST /requests` with a fresh Idempotency-Key.
    pub async fn submit(&self, token: &str, body: &Value) -> Reply {
        let key = uuid::Uuid::new_v4().to_string();
        self.call(
            Method::POST,
            "/requests",
            Some(token),
            &[("Idempotency-Key", &key)],
            Some(body),
        )
        .await
    }

    /// Submits `body` (which must be accepted) and waits until the request awaits first
    /// review; returns its id.
    pub async fn submit_to_first_review(&self, token: &str, body: &Value) -> String {
        let reply = self.submit(token, body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        let id = reply.body["requestId"].as_str().unwrap().to_string();
        self.wait_for(token, &id, status_is("pending_first_review"))
            .await;
        id
    }

    /// Polls `GET /requests/{id}` until `done` holds (the workflow runs asynchronously), for at
    /// most 60 s; returns the last body seen.
    pub async fn wait_for(
        &self,
        token: &str,
        request_id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reply = self.get(&format!("/requests/{request_id}"), token).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            if done(&reply.body) {
                return reply.body;
            }
            assert!(
                Instant::now() < deadline,
                "request {request_id} did not reach the expected state: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A failure injected by `Stack::fail_function_for`; dropping it ends the failure.
pub struct InjectedFault(std::path::PathBuf);

impl Drop for InjectedFault {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The API's answer: status, JSON body and `x-request-id`.
async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let request_id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
    Reply {
        status,
        body,
        request_id,
    }
}

/// Asserts the contract's error shape and code.
pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{}", reply.body);
    assert!(reply.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(
        reply.request_id.is_some(),
        "every response carries x-request-id"
    );
}

impl Stack {
    pub fn reviewer_token(&self) -> String {
        self.demo["reviewerToken"].as_str().unwrap().to_string()
    }

    /// Request `id` as the review queue lists it, looked for on every page: soonest due first,
    /// a new request comes after every other one waiting (a stack the bench has filled holds
    /// hundreds).
    pub async fn listed_review(&self, id: &str) -> Option<Value> {
        let token = self.reviewer_token();
        let first = "/reviews?status=pending&limit=100";
        let mut path = first.to_string();
        loop {
            let page = self.get(&path, &token).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let reviews = page.body["reviews"].as_array().expect("reviews");
            if let Some(listed) = reviews.iter().find(|r| r["requestId"] == id) {
                return Some(listed.clone());
            }
            match page.body["nextToken"].as_str() {
                // URL-safe base64: it needs no escaping in the query.
                Some(next) => path = format!("{first}&nextToken={next}"),
                None => return None,
            }
        }
    }

    /// Each `(input, next)`: the deployed Choice state `name` moves to `next` on `input`.
    pub async fn assert_choice_routes(&self, name: &str, routes: &[(Value, &str)]) {
        for (input, next) in routes {
            assert_eq!(&self.choice_next_state(name, input).await, next, "{input}");
        }
    }

    pub fn operator_token(&self) -> String {
        self.demo["operatorToken"].as_str().unwrap().to_string()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(token), &[], Some(body))
            .await
    }

    /// The reviewer's decision on a request.
    pub async fn decide(&self, request_id: &str, decision: &str, reasons: &[&str]) -> Reply {
        let body = serde_json::json!({ "decision": decision, "reasons": reasons });
        self.post(
            &format!("/reviews/{request_id}/decision"),
            &self.reviewer_token(),
            &body,
        )
        .await
    }

    /// The customer's withdrawal of a request.
    pub async fn withdraw(&self, token: &str, request_id: &str) -> Reply {
        self.post(
            &format!("/requests/{request_id}/withdraw"),
            token,
            &serde_json::json!({}),
        )
        .await
    }

    /// Has the authority simulator decide the request's current submission.
    pub async fn authority_decides(
        &self,
        request: &Value,
        decision: &str,
        reasons: &[&str],
    ) -> Reply {
        let submission = request["submissionId"]
            .as_str()
            .expect("forwarded requests carry a submission id");
        let body = serde_json::json!({ "decision": decision, "reasons": reasons });
        self.call(
            Method::POST,
            &format!("/authority-sim/submissions/{submission}/decision"),
            Some(&self.operator_token()),
            &[],
            Some(&body),
        )
        .await
    }

    /// Once `request_id` is forwarded, the authority approves it; returns the request once
    /// `completed`.
    pub async fn authority_approves_once_forwarded(&self, token: &str, request_id: &str) -> Value {
        let forwarded = self
            .wait_for(token, request_id, status_is("forwarded_to_authority"))
            .await;
        self.authority_decides(&forwarded, "approved", &[]).await;
        self.wait_for(token, request_id, status_is("completed"))
            .await
    }

    async fn localstack(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.outputs["localstackUrl"].as_str().unwrap());
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Subjects of the emails LocalStack's SES sent to `address`.
    /// The emails LocalStack's SES recorded to `address`, as it records them.
    async fn emails_sent_to(&self, address: &str) -> Vec<Value> {
        let sent = self.localstack("/_aws/ses").await;
        sent["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["Destination"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|a| a == address))
            })
            .cloned()
            .collect()
    }

    /// The subjects of the emails to `address`.
    pub async fn emails_to(&self, address: &str) -> Vec<String> {
        let sent = self.emails_sent_to(address).await;
        sent.iter()
            .map(|m| m["Subject"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Each email to `address` as its subject, a blank line and its text body.
    pub async fn email_texts_to(&self, address: &str) -> Vec<String> {
        let sent = self.emails_sent_to(address).await;
        sent.iter()
            .map(|m| {
                let subject = m["Subject"].as_str().unwrap_or_default();
                let body = m["Body"]["text_part"].as_str().unwrap_or_default();
                format!("{subject}\n\n{body}")
            })
            .collect()
    }

    pub async fn sms_to(&self, phone: &str) -> Vec<String> {
        let sent = self.localstack("/_aws/sns/sms-messages").await;
        sent["sms_messages"][phone]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|m| m["Message"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Stack {
    /// The emails to `address` once `done` holds for them (notifications are sent just after
    /// the status they announce is written), for at most 30 s.
    pub async fn emails_once(
        &self,
        address: &str,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        eventually(
            || self.emails_to(address),
            |emails: &Vec<String>| done(emails),
        )
        .await
    }

    /// The customer's notifications of request `id` (id -> item), once `expected` of them are
    /// logged and none of the request's is still being sent ("sending": claimed, not settled).
    /// The reviewers' emails are left out: whether they were told the request waits depends on
    /// whether the decision came first.
    pub async fn customer_notifications(
        &self,
        id: &str,
        expected: usize,
    ) -> serde_json::Map<String, Value> {
        let customers = |key: &String| !key.contains("#review_");
        let mut log = self
            .notifications_of(id, |log| {
                log.keys().filter(|k| customers(k)).count() >= expected
                    && log.values().all(|n| n["status"] != "sending")
            })
            .await;
        log.retain(|key, _| customers(key));
        log
    }

    /// What the customer was told about request `id` (`event#channel`, sorted), as
    /// `customer_notifications` finds it.
    pub async fn customer_events_told(&self, id: &str, expected: usize) -> Vec<String> {
        let mut events: Vec<String> = self
            .customer_notifications(id, expected)
            .await
            .keys()
            .map(|key| key.split('#').skip(2).collect::<Vec<_>>().join("#"))
            .collect();
        events.sort();
        events
    }

    /// The SMS to `phone` once `done` holds for them, for at most 30 s.
    pub async fn sms_once(&self, phone: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        eventually(|| self.sms_to(phone), |sms: &Vec<String>| done(sms)).await
    }
}

/// Reads `read` until `done` holds for what it returns, for at most 30 s; returns the last read.
pub async fn eventually<T, F: std::future::Future<Output = T>>(
    read: impl Fn() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    poll(
        Duration::from_secs(30),
        Duration::from_millis(250),
        read,
        done,
    )
    .await
}

/// Reads `read` every `every` until `done` holds for what it returns, for at most `within`;
/// returns the last read.
pub async fn poll<T, F: std::future::Future<Output = T>>(
    within: Duration,
    every: Duration,
    read: impl Fn() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let value = read().await;
        if done(&value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(every).await;
    }
}

impl Stack {
    /// Names of the state machine's executions for `request_id` (one per attempt started).
    pub async fn executions_of(&self, request_id: &str) -> Vec<String> {
        let arn = self.outputs["StateMachineArn"].as_str().unwrap();
        let mut names = Vec::new();
        let mut pages = self
            .sfn
            .list_executions()
            .state_machine_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for execution in page.expect("ListExecutions").executions() {
                if execution.name().starts_with(request_id) {
                    names.push(execution.name().to_string());
                }
            }
        }
        names
    }
}

impl Stack {
    /// Stops the execution named `name` (as an operator, or a lost execution, would leave it).
    pub async fn stop_execution(&self, name: &str) {
        let arn = format!(
            "{}:{name}",
            self.outputs["StateMachineArn"].as_str().unwrap().replacen(
                ":stateMachine:",
                ":execution:",
                1
            )
        );
        self.sfn
            .stop_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("StopExecution");
    }

    /// The sum of this stack's `WaitingRounds` for `step` over the last hour, as CloudWatch
    /// has it (the state machine counts each round itself).
    pub async fn waiting_rounds(&self, step: &str) -> f64 {
        let now = chrono::Utc::now();
        let body = serde_json::json!({
            "Namespace": "IcpFiling",
            "MetricName": "WaitingRounds",
            "Dimensions": [
                {"Name": "Stack", "Value": self.stack_name()},
                {"Name": "Step", "Value": step},
            ],
            "StartTime": (now - chrono::Duration::hours(1)).timestamp(),
            "EndTime": (now + chrono::Duration::minutes(5)).timestamp(),
            "Period": 7200,
            "Statistics": ["Sum"],
        });
        let answer = self
            .raw_json(
                "GraniteServiceVersion20100801",
                "monitoring",
                "GetMetricStatistics",
                &body,
            )
            .await;
        answer["Datapoints"]
            .as_array()
            .map(|points| points.iter().filter_map(|p| p["Sum"].as_f64()).sum())
            .unwrap_or_default()
    }

    /// Every event of every execution of the state machine, as JSON text. Read over the raw
    /// JSON protocol: LocalStack renders some history fields in shapes the SDK refuses.
    pub async fn all_execution_histories(&self) -> Vec<String> {
        let arn = self.outputs["StateMachineArn"].as_str().unwrap();
        let mut histories = Vec::new();
        let mut executions = self
            .sfn
            .list_executions()
            .state_machine_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = executions.next().await {
            for execution in page.expect("ListExecutions").executions() {
                let mut next_token: Option<String> = None;
                loop {
                    let mut body = serde_json::json!({ "executionArn": execution.execution_arn() });
                    if let Some(token) = &next_token {
                        body["nextToken"] = token.clone().into();
                    }
                    let page = self.step_functions_json("GetExecutionHistory", &body).await;
                    histories.push(page["events"].to_string());
                    next_token = page["nextToken"].as_str().map(String::from);
                    if next_token.is_none() {
                        break;
                    }
                }
            }
        }
        histories
    }

    /// The states the request's execution for `attempt` entered, in order, once `done` holds
    /// of them, for at most `within`; returns the last seen.
    pub async fn states_entered_once(
        &self,
        request_id: &str,
        attempt: u32,
        within: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let entered = || async {
            self.execution_events(request_id, attempt)
                .await
                .iter()
                .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        poll(
            within,
            Duration::from_secs(1),
            entered,
            |s: &Vec<String>| done(s),
        )
        .await
    }

    /// The events of the request's execution for `attempt`, oldest first, as JSON.
    pub async fn execution_events(&self, request_id: &str, attempt: u32) -> Vec<Value> {
        self.execution_events_named(&format!("{request_id}-{attempt}"))
            .await
    }

    /// The events of the execution named `name` (a restart's, `{id}-{attempt}_{n}`, too),
    /// oldest first, as JSON.
    pub async fn execution_events_named(&self, name: &str) -> Vec<Value> {
        let arn = self.outputs["StateMachineArn"].as_str().unwrap().replacen(
            ":stateMachine:",
            ":execution:",
            1,
        );
        let mut events = Vec::new();
        let mut body = serde_json::json!({ "executionArn": format!("{arn}:{name}") });
        loop {
            let page = self.step_functions_json("GetExecutionHistory", &body).await;
            events.extend(page["events"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(token) => body["nextToken"] = token.into(),
                None => return events,
            }
        }
    }

    /// The state the deployed state machine's Choice state `name` moves to on `input`
    /// (Step Functions' TestState on the definition as deployed, substitutions in). Over raw
    /// JSON: the SDK sends TestState to a `sync-` host prefix LocalStack does not answer.
    async fn choice_next_state(&self, name: &str, input: &Value) -> String {
        let definition = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(self.outputs["StateMachineArn"].as_str().unwrap())
            .send()
            .await
            .expect("DescribeStateMachine")
            .definition;
        let definition: Value = serde_json::from_str(&definition).unwrap();
        let state = &definition["States"][name];
        assert_eq!(state["Type"], "Choice", "{name} is a Choice state");
        let body = serde_json::json!({
            "definition": state.to_string(),
            "roleArn": "arn:aws:iam::000000000000:role/test-state",
            "input": input.to_string(),
        });
        let answer = self.step_functions_json("TestState", &body).await;
        assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
        answer["nextState"].as_str().expect("nextState").to_string()
    }

    /// One Step Functions call to LocalStack over raw JSON, for the calls the SDK cannot make
    /// there (see `all_execution_histories` and `choice_next_state`).
    async fn step_functions_json(&self, operation: &str, body: &Value) -> Value {
        self.raw_json("AWSStepFunctions", "states", operation, body)
            .await
    }

    /// One call to LocalStack over the AWS JSON protocol, `target` naming the API and
    /// `service` the signing scope (LocalStack routes on both and checks no signature).
    async fn raw_json(&self, target: &str, service: &str, operation: &str, body: &Value) -> Value {
        self.http
            .post(self.outputs["localstackUrl"].as_str().unwrap())
            .header("x-amz-target", format!("{target}.{operation}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
            )
            .body(body.to_string())
            .send()
            .await
            .expect(operation)
            .json()
            .await
            .unwrap_or_else(|e| panic!("{operation}: not JSON: {e}"))
    }

    /// The keys (`requestId`) of every insert the requests table's stream holds, oldest first:
    /// what the stream's mapping hands to `start-workflow`. Over raw JSON, as the SDK has no
    /// DynamoDB Streams client in this crate.
    pub async fn requests_stream_inserts(&self) -> Vec<String> {
        let table = self
            .dynamodb
            .describe_table()
            .table_name(self.outputs["RequestsTableName"].as_str().unwrap())
            .send()
            .await
            .expect("DescribeTable");
        let stream = table
            .table()
            .and_then(|t| t.latest_stream_arn())
            .expect("the requests table has a stream")
            .to_string();
        let described = self
            .streams_json("DescribeStream", &json!({ "StreamArn": stream }))
            .await;
        let mut inserts = Vec::new();
        for shard in described["StreamDescription"]["Shards"].as_array().unwrap() {
            let start = json!({
                "StreamArn": stream,
                "ShardId": shard["ShardId"],
                "ShardIteratorType": "TRIM_HORIZON",
            });
            let mut iterator =
                self.streams_json("GetShardIterator", &start).await["ShardIterator"].clone();
            // An open shard answers an empty page at its end, with a next iterator all the same.
            while iterator.is_string() {
                let page = self
                    .streams_json(
                        "GetRecords",
                        &json!({ "ShardIterator": iterator, "Limit": 1000 }),
                    )
                    .await;
                let records = page["Records"].as_array().cloned().unwrap_or_default();
                inserts.extend(
                    records
                        .iter()
                        .filter(|r| r["eventName"] == "INSERT")
                        .filter_map(|r| r["dynamodb"]["Keys"]["requestId"]["S"].as_str())
                        .map(String::from),
                );
                if records.is_empty() {
                    break;
                }
                iterator = page["NextShardIterator"].clone();
            }
        }
        inserts
    }

    async fn streams_json(&self, operation: &str, body: &Value) -> Value {
        self.raw_json("DynamoDBStreams_20120810", "dynamodb", operation, body)
            .await
    }

    /// Replaces an entity's contact email in its item, past the import's checks: an address the
    /// import would refuse, as data written some other way may hold.
    pub async fn set_email(&self, entity_id: &str, email: &str) {
        self.dynamodb
            .update_item()
            .table_name(self.outputs["EntitiesTableName"].as_str().unwrap())
            .key("entityId", AttributeValue::S(entity_id.into()))
            .update_expression("SET email = :e")
            .expression_attribute_values(":e", AttributeValue::S(email.into()))
            .send()
            .await
            .expect("set email");
    }

    /// Replaces an entity's license password (its argon2id hash).
    pub async fn set_password(&self, entity_id: &str, password: &str) {
        self.dynamodb
            .update_item()
            .table_name(self.outputs["EntitiesTableName"].as_str().unwrap())
            .key(
                "entityId",
                aws_sdk_dynamodb::types::AttributeValue::S(entity_id.into()),
            )
            .update_expression("SET passwordHash = :h")
            .expression_attribute_values(
                ":h",
                aws_sdk_dynamodb::types::AttributeValue::S(icp_domain::password::hash(password)),
            )
            .send()
            .await
            .expect("set password");
    }

    /// Makes the authority simulator refuse the request's next `failures` submissions, each
    /// after `hang_seconds` of silence.
    pub async fn simulate_authority_outage(
        &self,
        request_id: &str,
        failures: u32,
        hang_seconds: u32,
    ) {
        self.dynamodb
            .put_item()
            .table_name(self.outputs["AuthoritySimTableName"].as_str().unwrap())
            .item(
                "submissionId",
                AttributeValue::S(format!("outage#{request_id}")),
            )
            .item("remaining", AttributeValue::N(failures.to_string()))
            .item("hangSeconds", AttributeValue::N(hang_seconds.to_string()))
            .send()
            .await
            .expect("outage item");
    }

    /// Makes every invocation of this stack's function `name` (e.g. `clear-record`) for
    /// `request_id` whose event carries the fields of `only` fail, as a crashed runtime does,
    /// until the guard is dropped: an outage that outlasts every retry, for that request only
    /// (the local executor reads the fault file).
    pub fn fail_function_for(&self, name: &str, request_id: &str, only: &Value) -> InjectedFault {
        self.inject_fault(name, request_id, &only.to_string())
    }

    /// Makes this stack's function `name` fail its calls of `operation` (LocalStack's
    /// `service.Operation`, e.g. `stepfunctions.StartExecution`) with 503 until the guard is
    /// dropped: an outage of that service as the function meets it.
    pub fn fail_aws_call(&self, name: &str, operation: &str) -> InjectedFault {
        self.inject_fault(name, operation, "")
    }

    /// The stack's filings as the import reads and writes them (`icp_domain::ports::Filings`).
    pub fn filings(&self) -> &icp_adapters::dynamo::DynamoStore {
        &self.seeder.store
    }

    /// Makes this stack's function `name` fail its calls of `operation` that carry `scope` (a
    /// request's or an entity's id) with 503 until the guard is dropped: an outage of that
    /// service for that request or entity only.
    pub fn fail_aws_call_for(&self, name: &str, operation: &str, scope: &str) -> InjectedFault {
        let file = format!("{operation}#{}", uuid::Uuid::new_v4().simple());
        self.inject_fault(name, &file, scope)
    }

    /// The fault file `file` of this stack's function `name`, holding `contents`, which the
    /// local executor reads (`.local/faults/<function>/<file>`).
    fn inject_fault(&self, name: &str, file: &str, contents: &str) -> InjectedFault {
        let dir = local_state().join("faults").join(self.function_name(name));
        std::fs::create_dir_all(&dir).expect("fault dir");
        let file = dir.join(file);
        std::fs::write(&file, contents).expect("fault file");
        InjectedFault(file)
    }

    /// Invokes this stack's function `name` with `event` (Lambda's Invoke, synchronously) and
    /// returns its answer.
    pub async fn invoke_function(&self, name: &str, event: &Value) -> Value {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.outputs["localstackUrl"].as_str().unwrap(),
            self.function_name(name)
        );
        self.http
            .post(url)
            .header("authorization", LAMBDA_AUTHORIZATION)
            .body(event.to_string())
            .send()
            .await
            .expect("Invoke")
            .json()
            .await
            .expect("the function answers JSON")
    }

    /// The clock of this stack's function `name`, for a test to move; the system's time again
    /// however the test ends.
    pub fn clock_of(&self, name: &'static str) -> FunctionClock<'_> {
        FunctionClock {
            stack: self,
            function: name,
        }
    }

    /// Moves the clock of this stack's function `name` by `seconds` (0: the system's time), as
    /// its `CLOCK_OFFSET_SECONDS` variable, which the local stage allows (`AllowTestClock`).
    /// Lambda's UpdateFunctionConfiguration: the function's next invocation runs in a new
    /// execution environment with the moved clock.
    async fn set_clock_offset(&self, name: &str, seconds: i64) {
        let url = format!(
            "{}/2015-03-31/functions/{}/configuration",
            self.outputs["localstackUrl"].as_str().unwrap(),
            self.function_name(name)
        );
        // A client of its own: the test's guard also calls this from its drop, on another
        // runtime, where the stack's pooled connections cannot make progress.
        let http = &Client::new();
        let signed = |request: reqwest::RequestBuilder| {
            request.header("authorization", LAMBDA_AUTHORIZATION)
        };
        let configuration = |url: String| async move {
            signed(http.get(url))
                .send()
                .await
                .expect("GetFunctionConfiguration")
                .json::<Value>()
                .await
                .expect("a function configuration")
        };
        let mut variables = configuration(url.clone()).await["Environment"]["Variables"].clone();
        let variables = variables.as_object_mut().expect("the function's variables");
        if seconds == 0 {
            variables.remove("CLOCK_OFFSET_SECONDS");
        } else {
            variables.insert("CLOCK_OFFSET_SECONDS".into(), seconds.to_string().into());
        }
        let answer = signed(http.put(url.clone()))
            .body(serde_json::json!({"Environment": {"Variables": variables}}).to_string())
            .send()
            .await
            .expect("UpdateFunctionConfiguration");
        assert!(
            answer.status().is_success(),
            "UpdateFunctionConfiguration: {}",
            answer.text().await.unwrap_or_default()
        );
        let updated = poll(
            Duration::from_secs(60),
            Duration::from_millis(200),
            || configuration(url.clone()),
            |c| c["LastUpdateStatus"] == "Successful",
        )
        .await;
        assert_eq!(updated["LastUpdateStatus"], "Successful", "{updated}");
    }

    /// Kills (SIGKILL) every running process of this stack's function `name` (e.g.
    /// `forward-to-authority`): a crash mid-step, as Lambda meets one. Returns how many.
    pub fn kill_function(&self, name: &str) -> usize {
        self.signal_function(name, "-KILL")
    }

    /// Stops (SIGSTOP) every running process of this stack's function `name`: an invocation
    /// handed to it now hangs mid-call until the process is killed. Returns how many.
    pub fn pause_function(&self, name: &str) -> usize {
        self.signal_function(name, "-STOP")
    }

    /// How many invocations the local executor has handed to a process of this stack's
    /// function `name` (the START lines of its log): once one is counted, killing the process
    /// that holds it fails that invocation.
    pub fn invocations_started(&self, name: &str) -> usize {
        self.log_lines_with(name, " START RequestId: ")
    }

    /// How many invocations of this stack's function `name` a process holds right now (START
    /// lines of its log without their END): killing the function now kills it mid-invocation.
    pub fn invocations_in_flight(&self, name: &str) -> usize {
        self.log_lines_with(name, " START RequestId: ")
            .saturating_sub(self.log_lines_with(name, " END RequestId: "))
    }

    /// How many lines of the local executor's log of this stack's function `name` hold `marker`.
    fn log_lines_with(&self, name: &str, marker: &str) -> usize {
        self.function_log(name)
            .lines()
            .filter(|line| line.contains(marker))
            .count()
    }

    /// The deployed name of this stack's function `name` (e.g. `first-review`).
    fn function_name(&self, name: &str) -> String {
        format!("{}-{name}", self.stack_name())
    }

    /// The stack's name, as its state machine's name carries it.
    fn stack_name(&self) -> &str {
        let state_machine = self.outputs["StateMachineArn"].as_str().unwrap();
        state_machine
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("-request")
    }

    /// Kills (SIGKILL) one running process of this stack's function `name`, the `pick`-th
    /// (modulo their number): one execution environment crashing. Whether there was one.
    pub fn kill_one_process(&self, name: &str, pick: usize) -> bool {
        let pids = self.processes_of(name);
        !pids.is_empty() && signal(&pids[pick % pids.len()], "-KILL")
    }

    /// The pids of this stack's running processes of function `name`.
    fn processes_of(&self, name: &str) -> Vec<String> {
        let function = format!("AWS_LAMBDA_FUNCTION_NAME={}", self.function_name(name));
        let ours = format!("ICP_LOCAL_ROOT={}", project_root().display());
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
            if vars.contains(&function.as_bytes()) && vars.contains(&ours.as_bytes()) {
                pids.push(entry.file_name().into_string().unwrap());
            }
        }
        pids.sort();
        pids
    }

    fn signal_function(&self, name: &str, signal_name: &str) -> usize {
        self.processes_of(name)
            .iter()
            .filter(|pid| signal(pid, signal_name))
            .count()
    }

    /// The calendar table's schedule of `year`, if it has one.
    pub async fn calendar_year(&self, year: i32) -> Option<icp_domain::calendar::YearSchedule> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(self.outputs["CalendarTableName"].as_str().unwrap())
            .key("year", AttributeValue::N(year.to_string()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem on the calendar")
            .item?;
        let text = item["schedule"].as_s().unwrap();
        Some(serde_json::from_str(text).expect("a stored schedule parses"))
    }

    /// Writes `schedule` as its year of the calendar table, as `infra/calendar/load.py` does.
    /// The functions read the calendar once per cold start: kill them for it to count.
    pub async fn put_calendar_year(&self, schedule: &icp_domain::calendar::YearSchedule) {
        self.dynamodb
            .put_item()
            .table_name(self.outputs["CalendarTableName"].as_str().unwrap())
            .item("year", AttributeValue::N(schedule.year.to_string()))
            .item(
                "schedule",
                AttributeValue::S(serde_json::to_string(schedule).unwrap()),
            )
            .send()
            .await
            .expect("PutItem on the calendar");
    }

    pub async fn delete_calendar_year(&self, year: i32) {
        self.dynamodb
            .delete_item()
            .table_name(self.outputs["CalendarTableName"].as_str().unwrap())
            .key("year", AttributeValue::N(year.to_string()))
            .send()
            .await
            .expect("DeleteItem on the calendar");
    }

    pub async fn authority_outage_left(&self, request_id: &str) -> u32 {
        let item = self
            .dynamodb
            .get_item()
            .table_name(self.outputs["AuthoritySimTableName"].as_str().unwrap())
            .key(
                "submissionId",
                AttributeValue::S(format!("outage#{request_id}")),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("outage item")
            .item
            .expect("outage item exists");
        item["remaining"].as_n().unwrap().parse().unwrap()
    }

    /// The notification log of a request (id -> item as JSON) once `done` holds, for at most 30 s.
    pub async fn notifications_of(
        &self,
        request_id: &str,
        done: impl Fn(&serde_json::Map<String, Value>) -> bool,
    ) -> serde_json::Map<String, Value> {
        eventually(|| self.notification_log(request_id), done).await
    }

    /// The notification log of a request: id -> the item's string attributes.
    async fn notification_log(&self, request_id: &str) -> serde_json::Map<String, Value> {
        let items = self
            .dynamodb
            .scan()
            .table_name(self.outputs["NotificationsTableName"].as_str().unwrap())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("scan notifications");
        items
            .into_iter()
            .filter_map(|item| {
                let id = item.get("notificationId")?.as_s().ok()?.clone();
                id.starts_with(request_id).then(|| {
                    let fields = item
                        .iter()
                        .filter_map(|(k, v)| {
                            v.as_s().ok().map(|s| (k.clone(), Value::from(s.clone())))
                        })
                        .collect::<serde_json::Map<_, _>>();
                    (id, Value::Object(fields))
                })
            })
            .collect()
    }

    /// Every item of every table of the stack, as text.
    pub async fn all_table_items(&self) -> Vec<String> {
        let mut items = Vec::new();
        for (key, table) in self.outputs.as_object().unwrap() {
            if !key.ends_with("TableName") {
                continue;
            }
            let mut pages = self
                .dynamodb
                .scan()
                .table_name(table.as_str().unwrap())
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                items.push(format!("{:?}", item.expect("Scan")));
            }
        }
        items
    }

    /// The task tokens the request's workflow waited on at `attempt` (review, authority), as
    /// the functions keep them: sealed in its item, opened here with the stack's vault key.
    pub async fn task_tokens(&self, request_id: &str, attempt: u32) -> Vec<String> {
        use icp_domain::ports::Vault;
        let item = self
            .dynamodb
            .get_item()
            .table_name(self.outputs["RequestsTableName"].as_str().unwrap())
            .key("requestId", AttributeValue::S(request_id.into()))
            .send()
            .await
            .expect("GetItem")
            .item
            .unwrap_or_default();
        let vault = icp_adapters::vault::AesVault::from_secret(&self.vault_secret);
        ["reviewTaskToken", "authorityTaskToken"]
            .into_iter()
            .filter_map(|slot| {
                let sealed = item.get(slot)?.as_s().ok()?;
                let token = vault.open(sealed, &format!("{request_id}#{attempt}#{slot}"));
                Some(token.unwrap_or_else(|| panic!("{slot} does not open")))
            })
            .collect()
    }

    /// What the local executor logged of this stack's function `name`.
    pub fn function_log(&self, name: &str) -> String {
        let log = local_state()
            .join("logs")
            .join(format!("{}.log", self.function_name(name)));
        std::fs::read_to_string(log).unwrap_or_default()
    }

    pub fn all_function_logs(&self) -> String {
        let dir = local_state().join("logs");
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }
}

fn signal(pid: &str, signal: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, pid])
        .status()
        .is_ok_and(|s| s.success())
}

/// The statuses a request went through, from its history.
pub fn history(request: &Value) -> Vec<String> {
    request["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_string())
        .collect()
}

/// Whether `text` has Chinese (CJK unified ideographs) in it.
pub fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Whether `text` carries an RFC 3339 time stamp (`2026-12-08T08:44`), which people should not
/// have to read.
pub fn has_rfc3339_stamp(text: &str) -> bool {
    text.as_bytes().windows(11).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..10].iter().all(u8::is_ascii_digit)
            && w[10] == b'T'
    })
}

/// Whether an email's subject announces `status` to a customer whose entity chose no language
/// (Chinese first): `初审未通过：site.example.cn 的变更接入申请 / First review rejected: ...`.
pub fn announces(subject: &str, status: &str) -> bool {
    let head = match status {
        "submitted" => "申请已提交：",
        "password_rejected" => "备案密码核验未通过：",
        "first_review_rejected" => "初审未通过：",
        "forwarded_to_authority" => "初审通过，已提交通信管理局：",
        "approved" => "通信管理局审核通过：",
        "authority_rejected" => "通信管理局审核未通过：",
        "completed" => "申请已完成：",
        "expired" => "申请已过期：",
        "failed" => "申请处理失败：",
        other => panic!("no customer email announces {other}"),
    };
    subject.starts_with(head)
}

pub fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |r| r["status"] == status
}

/// The clone whose stack this run talks to: `ICP_LOCAL_ROOT` (as the local scripts set it), or
/// the workspace of the package cargo runs the test for. Never the build's own path: clones
/// share a target directory, so a binary may have been built from another clone.
fn project_root() -> std::path::PathBuf {
    if let Some(root) = std::env::var_os("ICP_LOCAL_ROOT") {
        return root.into();
    }
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .expect("ICP_LOCAL_ROOT or CARGO_MANIFEST_DIR: the clone whose stack to use");
    std::path::Path::new(&package)
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("the package is in a workspace")
        .to_path_buf()
}

/// The running local stack's state: its outputs, demo data and the functions' logs.
pub fn local_state() -> std::path::PathBuf {
    project_root().join(".local")
}

/// A function's clock a test moves (`Stack::clock_of`), put back when it is dropped. Only one
/// test at a time may move a function's clock: a test that does has its binary to itself, or
/// shares it only with tests that do not depend on that function's time.
pub struct FunctionClock<'a> {
    stack: &'a Stack,
    function: &'static str,
}

impl FunctionClock<'_> {
    /// The function runs `seconds` ahead of the system's time from its next invocation on.
    pub async fn moved_by(&self, seconds: i64) {
        self.stack.set_clock_offset(self.function, seconds).await
    }
}

impl Drop for FunctionClock<'_> {
    fn drop(&mut self) {
        let (stack, function) = (self.stack, self.function);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(stack.set_clock_offset(function, 0))
            });
        });
    }
}
