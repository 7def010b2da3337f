//! The HTTPS clients speak TLS, trusting the system's CA bundle: the AWS SDK's (AWS endpoints)
//! and the authority's (its intake, or the simulator behind the API's https URL). A listener
//! standing in for the server receives a TLS ClientHello; building the trust store from this
//! machine's bundle must not fail.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use icp_adapters::authority::HttpAuthority;
use icp_domain::ports::{Authority, Submission};
use icp_domain::RequestType;
use std::future::Future;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Runs `call` against `listener` and asserts that what arrives first is a TLS ClientHello.
async fn assert_client_hello<T: std::fmt::Debug + Send + 'static>(
    listener: TcpListener,
    call: impl Future<Output = T> + Send + 'static,
) {
    let mut call = tokio::spawn(call);
    let mut connection = tokio::select! {
        accepted = listener.accept() => accepted.unwrap().0,
        outcome = &mut call => panic!("no connection was made: {outcome:?}"),
    };
    // A TLS record header (handshake, 0x16) whose message is a ClientHello (0x01).
    let mut head = [0u8; 6];
    connection.read_exact(&mut head).await.unwrap();
    assert_eq!((head[0], head[5]), (0x16, 0x01), "a TLS ClientHello");
    call.abort();
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    (listener, url)
}

#[test]
fn this_machines_ca_bundle_is_taken() {
    assert!(icp_adapters::tls::system_ca_bundle().is_some());
}

#[tokio::test]
async fn the_authority_client_speaks_tls_to_an_https_intake() {
    let (listener, url) = listener().await;
    let authority = HttpAuthority::new(
        format!("{url}/submissions"),
        "https://api.example/authority/callbacks".into(),
        "secret".into(),
    )
    .unwrap();
    let submission = Submission {
        submission_id: "s-1".into(),
        request_id: "r-1".into(),
        request_type: RequestType::AccessCancellation,
        domain: "example.cn".into(),
        website_license_number: "京ICP备12345678号-1".into(),
        entity_name: "Example".into(),
        entity_license_number: "京ICP备12345678号".into(),
        service_ips: None,
    };
    assert_client_hello(listener, async move { authority.submit(&submission).await }).await;
}

#[tokio::test]
async fn the_sdk_speaks_tls_to_an_https_endpoint() {
    let (listener, url) = listener().await;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(icp_adapters::aws::sdk_https_client())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    assert_client_hello(listener, async move { client.list_tables().send().await }).await;
}
