#![cfg(unix)]

use std::collections::HashSet;

use brisk::prelude::*;

use crate::raw_get;

#[derive(Clone)]
struct Name(&'static str);

async fn who(State(name): State<Name>) -> &'static str {
    name.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_port_and_both_answer() {
    let first = brisk::bind_reuse_port("127.0.0.1:0").await.unwrap();
    let addr = first.local_addr().unwrap();
    let second = brisk::bind_reuse_port(addr).await.expect("a second socket on the same port");
    assert!(brisk::bind(addr).await.is_err(), "without SO_REUSEPORT the port is taken");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for (listener, name) in [(first, "one"), (second, "two")] {
        let app = App::new().with_state(Name(name)).route("/", get(who));
        let mut stopped = stopped.clone();
        servers.push(tokio::spawn(app.serve_with_shutdown(listener, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })));
    }
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let (status, answer) = raw_get(addr, "/").await;
        assert_eq!(status, 200);
        seen.insert(answer.rsplit("\r\n\r\n").next().unwrap_or_default().to_owned());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen, HashSet::from(["one".to_owned(), "two".to_owned()]));
    stop.send(true).unwrap();
    for server in servers {
        server.await.unwrap().unwrap();
    }
}
