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
