//! The template as AWS would deploy it, read without a stack (LocalStack ignores a state
//! machine's encryption): the workflow's execution data, whose histories hold the waits' task
//! tokens, is encrypted with the stack's own key, and only the workflow's role and the
//! operators' role may decrypt with that key.

use serde_yaml::Value;

fn template() -> Value {
    // Read at run time: the build's own path may belong to another clone sharing the target dir.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    let path = format!("{root}/../infra/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).expect("the template")
}

/// `!GetAtt X.Arn`, `!Ref X` and plain strings, as one comparable string.
fn reference(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, reference(&tagged.value)),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().map(reference).collect(),
        other => vec![reference(other)],
    }
}

/// The key policy's statements, those behind a condition (`!If [c, statement, NoValue]`)
/// included.
fn statements(key: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for statement in key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap()
    {
        match statement {
            Value::Tagged(tagged) if tagged.tag == "!If" => {
                out.push(tagged.value.as_sequence().unwrap()[1].clone())
            }
            plain => out.push(plain.clone()),
        }
    }
    out
}

#[test]
fn the_state_machine_is_encrypted_with_the_workflow_key() {
    let template = template();
    let machine = &template["Resources"]["RequestStateMachine"];
    assert_eq!(machine["Type"], "AWS::StepFunctions::StateMachine");
    let encryption = &machine["Properties"]["EncryptionConfiguration"];
    assert_eq!(encryption["Type"], "CUSTOMER_MANAGED_KMS_KEY");
    assert_eq!(
        reference(&encryption["KmsKeyId"]),
        "!GetAtt WorkflowKey.Arn"
    );
    assert_eq!(
        reference(&machine["Properties"]["RoleArn"]),
        "!GetAtt WorkflowRole.Arn"
    );
    assert_eq!(
        template["Resources"]["WorkflowKey"]["Type"],
        "AWS::KMS::Key"
    );
}

#[test]
fn only_the_workflow_and_the_operators_may_decrypt_with_the_workflow_key() {
    let template = template();
    let key = &template["Resources"]["WorkflowKey"];
    let mut decrypters = Vec::new();
    for statement in statements(key) {
        assert_eq!(statement["Effect"], "Allow", "{statement:?}");
        let actions = strings(&statement["Action"]);
        let decrypts = actions
            .iter()
            .any(|a| a == "kms:*" || a == "kms:Decrypt" || a == "kms:Decrypt*");
        if decrypts {
            decrypters.extend(strings(&statement["Principal"]["AWS"]));
        }
        assert!(
            statement["Principal"]["Service"].is_null() || !decrypts,
            "no service decrypts on its own: {statement:?}"
        );
    }
    decrypters.sort();
    assert_eq!(
        decrypters,
        ["!GetAtt WorkflowRole.Arn", "!Ref OperatorsRoleArn"],
        "the key policy's decrypting principals"
    );
    let operators = &template["Parameters"]["OperatorsRoleArn"];
    assert_eq!(
        operators["Type"], "String",
        "the operators' role is a parameter"
    );
}

/// Every statement of every function's policies, as written in the template.
fn function_statements(template: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                out.push((reference(name), statement.clone()));
            }
        }
    }
    out
}

#[test]
fn email_goes_out_from_the_sender_address_only() {
    let template = template();
    let senders: Vec<_> = function_statements(&template)
        .into_iter()
        .filter(|(_, s)| strings(&s["Action"]).contains(&"ses:SendEmail".to_string()))
        .collect();
    assert!(!senders.is_empty(), "some function sends email");
    for (function, statement) in senders {
        assert_eq!(
            reference(&statement["Condition"]["StringEquals"]["ses:FromAddress"]),
            "!Ref SenderEmail",
            "{function} may send email from the sender address only"
        );
    }
}

/// At `trace` the runtime logs raw events: bearer tokens and license passwords.
#[test]
fn the_log_level_cannot_log_raw_events() {
    let template = template();
    let allowed = strings(&template["Parameters"]["LogLevel"]["AllowedValues"]);
    assert!(!allowed.is_empty(), "LogLevel has AllowedValues");
    for level in allowed {
        assert!(
            ["error", "warn", "info"].contains(&level.as_str()),
            "LogLevel allows {level}"
        );
    }
}

/// A whole-item write (`PutItem`) only where the code creates items: requests and idempotency
/// records (submit), notification claims, the simulator's submissions. Everywhere else the
/// functions update in place, and a `PutItem` grant would let them replace a whole record.
#[test]
fn whole_items_are_written_only_where_items_are_created() {
    let created = [
        "!GetAtt RequestsTable.Arn",
        "!GetAtt IdempotencyTable.Arn",
        "!GetAtt NotificationsTable.Arn",
        "!GetAtt AuthoritySimTable.Arn",
    ];
    let puts: Vec<_> = function_statements(&template())
        .into_iter()
        .filter(|(_, s)| strings(&s["Action"]).contains(&"dynamodb:PutItem".to_string()))
        .collect();
    assert!(!puts.is_empty());
    for (function, statement) in puts {
        for table in strings(&statement["Resource"]) {
            assert!(
                created.contains(&table.as_str()),
                "{function} may PutItem on {table}"
            );
        }
        if function != "SubmitRequestFunction" && function != "AuthoritySimFunction" {
            assert_eq!(
                strings(&statement["Resource"]),
                ["!GetAtt NotificationsTable.Arn"],
                "{function} creates notification claims only"
            );
        }
    }
}

/// LocalStack neither throttles a stage nor applies gateway responses, so the template is held
/// to them: a flood gets 429 `too_many_requests` with `Retry-After`, and every answer API Gateway
/// gives on its own carries the API's error shape.
#[test]
fn the_stage_throttles_and_the_gateway_answers_in_the_error_shape() {
    let template = template();
    let api = &template["Resources"]["Api"]["Properties"];
    let settings = api["MethodSettings"].as_sequence().expect("MethodSettings");
    let everything = settings
        .iter()
        .find(|s| s["ResourcePath"] == "/*" && s["HttpMethod"] == "*")
        .expect("a throttle on every method");
    assert_eq!(
        reference(&everything["ThrottlingRateLimit"]),
        "!Ref ApiRateLimit"
    );
    assert_eq!(
        reference(&everything["ThrottlingBurstLimit"]),
        "!Ref ApiBurstLimit"
    );
    // The authority's callbacks have a bucket of their own (API Gateway's escaping of `/`).
    let callbacks = settings
        .iter()
        .find(|s| s["ResourcePath"] == "/~1authority~1callbacks" && s["HttpMethod"] == "POST")
        .expect("a throttle of the authority's callbacks' own");
    assert_eq!(
        reference(&callbacks["ThrottlingRateLimit"]),
        "!Ref AuthorityCallbackRateLimit"
    );
    assert_eq!(
        reference(&callbacks["ThrottlingBurstLimit"]),
        "!Ref AuthorityCallbackBurstLimit"
    );

    let responses = api["GatewayResponses"]
        .as_mapping()
        .expect("GatewayResponses");
    let throttled = &api["GatewayResponses"]["THROTTLED"];
    assert_eq!(throttled["StatusCode"].as_u64(), Some(429));
    let retry_after = throttled["ResponseParameters"]["Headers"]["Retry-After"]
        .as_str()
        .expect("Retry-After");
    assert!(
        retry_after
            .trim_matches('\'')
            .parse::<u32>()
            .is_ok_and(|s| s > 0),
        "Retry-After is a constant number of seconds: {retry_after}"
    );
    for kind in [
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
    ] {
        assert!(responses.contains_key(kind), "no gateway response {kind}");
    }
    for (kind, response) in responses {
        let body = response["ResponseTemplates"]["application/json"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind:?} has no JSON template"));
        // API Gateway puts the message in as a JSON string.
        let body = body.replace("$context.error.messageString", "\"message\"");
        let body: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{kind:?}'s template is not JSON: {e}"));
        let code = body["error"]["code"].as_str().unwrap_or_default();
        assert!(
            !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{kind:?} answers the code {code:?}, not snake_case"
        );
        assert!(
            body["error"]["message"].is_string(),
            "{kind:?} has no message"
        );
    }
    assert_eq!(
        api["GatewayResponses"]["THROTTLED"]["ResponseTemplates"]["application/json"]
            .as_str()
            .map(|b| b.contains("\"too_many_requests\"")),
        Some(true)
    );
}

#[test]
fn people_sign_in_at_the_provider_and_the_api_holds_no_signing_key() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    // No shared token key anywhere: the API checks the issuer's published keys.
    let text = serde_yaml::to_string(&template).unwrap();
    assert!(!text.contains("JWT_SECRET") && !text.contains("JwtSecret"));

    // The stack's own user pool: people are created by the provider, each in one role's group.
    let pool = &template["Resources"]["UserPool"];
    assert_eq!(pool["Condition"], "WithOwnUserPool");
    assert_eq!(
        pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"],
        true
    );
    let mut groups: Vec<String> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Cognito::UserPoolGroup")
        .map(|r| reference(&r["Properties"]["GroupName"]))
        .collect();
    groups.sort();
    assert_eq!(groups, ["customer", "operator", "reviewer"]);

    // The console's client: public (no secret in a browser), the code flow only, back to the
    // console; people cannot write their entity.
    let client = &template["Resources"]["ConsoleUserPoolClient"]["Properties"];
    assert_eq!(client["GenerateSecret"], false);
    assert_eq!(strings(&client["AllowedOAuthFlows"]), ["code"]);
    let console = reference(&template["Outputs"]["ConsoleUrl"]["Value"]);
    for addresses in ["CallbackURLs", "LogoutURLs"] {
        assert_eq!(strings(&client[addresses]), std::slice::from_ref(&console));
    }
    assert!(!strings(&client["WriteAttributes"]).contains(&"custom:entity_id".to_string()));

    // The functions read the console's client from the stage, the rest of the policy from
    // their environment.
    assert_eq!(
        reference(&template["Resources"]["Api"]["Properties"]["Variables"]["oidcClientId"]),
        reference(&template["Outputs"]["ConsoleClientId"]["Value"])
    );
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    for name in [
        "OIDC_ISSUER",
        "OIDC_AUDIENCES",
        "OIDC_JWKS_URL",
        "OIDC_ROLE_CLAIM",
        "OIDC_ENTITY_CLAIM",
    ] {
        assert!(!env[name].is_null(), "{name}");
    }
}

/// What the template's rules say of a deploy with these parameters (the others at their
/// defaults) into `account`: the descriptions of the assertions that refuse it. LocalStack does
/// not evaluate rules, so this reads them as CloudFormation does (`!Not`, `!And`, `!Or`,
/// `!Equals`, `!Ref` of a parameter or `AWS::AccountId`).
fn refusals(template: &Value, account: &str, parameters: &[(&str, &str)]) -> Vec<String> {
    fn text(value: &Value, template: &Value, account: &str, given: &[(&str, &str)]) -> String {
        match value {
            Value::Tagged(tagged) if tagged.tag == "!Ref" => {
                let name = tagged.value.as_str().unwrap();
                if name == "AWS::AccountId" {
                    return account.to_string();
                }
                given
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_else(|| reference(&template["Parameters"][name]["Default"]))
            }
            other => reference(other),
        }
    }
    fn holds(value: &Value, template: &Value, account: &str, given: &[(&str, &str)]) -> bool {
        let Value::Tagged(tagged) = value else {
            panic!("not a rule function: {value:?}")
        };
        let args = tagged.value.as_sequence().unwrap();
        let each = |v: &Value| holds(v, template, account, given);
        match tagged.tag.to_string().as_str() {
            "!Not" => !each(&args[0]),
            "!And" => args.iter().all(each),
            "!Or" => args.iter().any(each),
            "!Equals" => {
                text(&args[0], template, account, given) == text(&args[1], template, account, given)
            }
            other => panic!("a rule function this reading does not know: {other}"),
        }
    }
    let mut refused = Vec::new();
    for rule in template["Rules"].as_mapping().unwrap().values() {
        let applies = match &rule["RuleCondition"] {
            Value::Null => true,
            condition => holds(condition, template, account, parameters),
        };
        for assertion in rule["Assertions"].as_sequence().unwrap() {
            if applies && !holds(&assertion["Assert"], template, account, parameters) {
                refused.push(reference(&assertion["AssertDescription"]));
            }
        }
    }
    refused
}

#[test]
fn a_test_only_switch_is_refused_anywhere_but_on_localstack_whatever_the_stage() {
    let template = template();
    const LOCALSTACK: &str = "000000000000";
    const AWS_ACCOUNT: &str = "123456789012";
    let switches = [
        "IncludeAuthoritySimulator",
        "IncludeBenchBaseline",
        "AllowDocumentationIps",
        "AllowTestClock",
    ];
    for stage in ["prod", "staging", "local"] {
        assert_eq!(
            refusals(&template, AWS_ACCOUNT, &[("Stage", stage)]),
            Vec::<String>::new()
        );
        for switch in switches {
            let on = [("Stage", stage), (switch, "true")];
            assert_eq!(
                refusals(&template, AWS_ACCOUNT, &on).len(),
                1,
                "{switch} on {stage} in an AWS account"
            );
            assert!(
                refusals(&template, LOCALSTACK, &on).is_empty(),
                "{switch} on LocalStack"
            );
        }
    }
    // The local deploy's switches, all on, pass on LocalStack.
    let local: Vec<(&str, &str)> = switches.iter().map(|s| (*s, "true")).collect();
    assert!(refusals(&template, LOCALSTACK, &local).is_empty());
    assert_eq!(refusals(&template, AWS_ACCOUNT, &local).len(), 4);
}

#[test]
fn the_data_outlives_the_stack_and_the_api_has_alarms_for_what_people_see() {
    let template = template();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::DynamoDB::Table" || name == "AuthoritySimTable" {
            continue;
        }
        assert_eq!(resource["DeletionPolicy"], "Retain", "{name:?}");
        assert_eq!(resource["UpdateReplacePolicy"], "Retain", "{name:?}");
    }
    let alarms: Vec<&Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| &r["Properties"])
        .collect();
    let api_alarm = |metric: &str| {
        alarms
            .iter()
            .find(|a| a["Namespace"] == "AWS/ApiGateway" && a["MetricName"] == metric)
            .unwrap_or_else(|| panic!("no alarm on the API's {metric}"))
    };
    assert_eq!(api_alarm("5XXError")["Statistic"], "Average", "a rate");
    assert_eq!(api_alarm("Latency")["ExtendedStatistic"], "p99");
    // Each alarm has its runbook.
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let runbooks = std::fs::read_to_string(format!("{root}/../docs/runbooks.md")).unwrap();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] == "AWS::CloudWatch::Alarm" {
            let name = name.as_str().unwrap();
            assert!(
                runbooks.contains(&format!("## {name}:")),
                "no runbook for {name}"
            );
        }
    }
}
