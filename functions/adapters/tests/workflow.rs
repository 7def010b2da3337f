//! The Step Functions client's calls as AWS receives them, where LocalStack would let a wrong
//! one pass: it ignores the workflow's encryption key.

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use icp_adapters::workflow::StepFunctionsWorkflow;
use icp_domain::ports::{Execution, Workflow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const STATE_MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:icp-request";

/// Answers the one HTTP request that arrives with `body`, and gives back the request as it came.
async fn answer_once(listener: TcpListener, body: &'static str) -> String {
    let (mut connection, _) = listener.accept().await.unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = connection.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the client closed before its request ended");
        received.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if received.len() >= head_end + 4 + length {
                break;
            }
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    connection.write_all(response.as_bytes()).await.unwrap();
    String::from_utf8(received).unwrap()
}

#[tokio::test]
async fn an_execution_is_described_without_its_encrypted_data() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(answer_once(
        listener,
        r#"{"executionArn":"arn:aws:states:us-east-1:000000000000:execution:icp-request:r-1-1","stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:icp-request","status":"FAILED","startDate":1796000000}"#,
    ));
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "example",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .http_client(icp_adapters::aws::sdk_https_client())
        .build();
    let workflow =
        StepFunctionsWorkflow::new(aws_sdk_sfn::Client::from_conf(config), STATE_MACHINE.into());

    assert_eq!(
        workflow.execution("r-1", 1).await.unwrap(),
        Execution::Ended
    );
    let request = server.await.unwrap();
    assert!(
        request.contains("DescribeExecution")
            && request.contains(r#""includedData":"METADATA_ONLY""#),
        "DescribeExecution must ask for the metadata only: {request}"
    );
}
