//! Headless Chromium driven through WebDriver (Debian's `chromium` and `chromium-driver`,
//! which `.ci/run` installs) for the tests of the server's pages. Both are found on `PATH`
//! through [`super::tools`]: missing, the test fails under CI and skips elsewhere.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// Where Chromium and its driver are on this machine.
pub struct Chromium {
    pub browser: PathBuf,
    pub driver: PathBuf,
}

/// The running chromedriver, stopped when dropped.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Chromium {
    /// Both installed, or `None` after saying so (a failure under CI: see `tools`).
    pub fn find() -> Option<Chromium> {
        let (browser, driver) = super::tools::browser()?;
        Some(Chromium { browser, driver })
    }

    /// Starts chromedriver on a free loopback port: the driver and its URL.
    pub fn start_driver(&self) -> (Driver, String) {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&self.driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        (Driver(child), format!("http://127.0.0.1:{port}"))
    }

    /// A browser session whose viewport is exactly `width` × `height` (a phone's below 600).
    pub async fn session(&self, wd: &str, width: u32, height: u32) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            // The viewport exactly (a window's size includes the browser's own frame, and has a
            // minimum width above a phone's): emulated device metrics.
            serde_json::json!({
                "binary": self.browser,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         format!("--window-size={},{}", width.max(800), height + 200)],
                "mobileEmulation": {
                    "deviceMetrics": {
                        "width": width, "height": height, "pixelRatio": 1.0,
                        "mobile": width < 600, "touch": width < 600,
                    },
                },
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(wd)
            .await
            .expect("WebDriver session")
    }
}

/// Logs `user` in on the console's login page and waits for the logged-in page.
pub async fn login(c: &Client, url: &str, user: &str, password: &str) {
    c.goto(&format!("{url}/login")).await.unwrap();
    submit_login(c, user, password).await;
}

/// Fills the login form on the page shown and waits for the logged-in page.
pub async fn submit_login(c: &Client, user: &str, password: &str) {
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    let p = c.find(Locator::Css("input[name=password]")).await.unwrap();
    p.send_keys(password).await.unwrap();
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#logout"))
        .await
        .expect("logged in");
}

/// Logs out and waits for the login form.
pub async fn logout(c: &Client) {
    c.find(Locator::Css("#logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
}

/// A runtime for one browser test (WebDriver calls are async).
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
