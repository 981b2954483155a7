//! The pictures of `metrics` and `history` as a console user gets them: the
//! demo agent answers through the console adapter, which saves each chart in
//! the data directory and prints where; the file is a PNG of the chart's size.
//! On tokio's paused clock, so the deployment before the question takes no
//! real time.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard::chat::console::{self, Console};
use switchyard::clock::Clock;
use switchyard::config::Config;
use switchyard::demo::{self, Demo};
use switchyard::render::chart::{METRICS_SIZE, TIMELINE_SIZE};

/// The console's standard output, readable by the test.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    /// Everything printed since the last call.
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

/// The path after `📎 saved NAME to ` in `out`.
fn saved(out: &str, name: &str) -> PathBuf {
    let marker = format!("📎 saved {name} to ");
    let line = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(marker.as_str()))
        .unwrap_or_else(|| panic!("no line saying where {name} went:\n{out}"));
    PathBuf::from(line)
}

/// Width and height of the PNG at `path`, after decoding all of it.
fn png_size(path: &PathBuf) -> (u32, u32) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert!(
        buf.iter().any(|&b| b != 255),
        "the picture is not all white"
    );
    (frame.width, frame.height)
}

#[tokio::test(start_paused = true)]
async fn metrics_after_a_deployment_come_with_a_chart_saved_where_the_reply_says() {
    let dir = tempfile::tempdir().unwrap();
    let screen = Screen::default();
    let console = Console::to(Box::new(screen.clone()))
        .with_attachments_dir(demo::attachments_dir(dir.path()));
    let clock = Clock::starting_at(1_767_225_600_000);
    let demo = Demo::open(Config::demo(), dir.path(), Arc::new(console), clock)
        .await
        .unwrap();
    let say = |line: &str| {
        demo.agent
            .handle(console::incoming(line, "alice", "switchyard"))
    };

    // Nothing deployed yet: the table says so, and there is nothing to draw.
    say("metrics for last 7 days").await;
    let out = screen.take();
    assert!(!out.contains("📎"), "{out}");

    say("deploy 1.3.2 to dev").await;
    demo.agent.settle().await;
    tokio::time::sleep(Duration::from_millis(10)).await; // the progress stream drains
    let out = screen.take();
    assert!(out.contains("Deployment successful! #1"), "{out}");

    say("metrics for last 7 days").await;
    let out = screen.take();
    assert!(out.starts_with("switchyard: Deployment metrics"), "{out}");
    let chart = saved(&out, "metrics.png");
    assert!(
        chart.starts_with(dir.path().join("attachments")),
        "in the data directory: {}",
        chart.display()
    );
    assert_eq!(png_size(&chart), METRICS_SIZE);

    // History answers with its table and a timeline; asking again keeps the
    // first chart and saves the next beside it.
    say("history dev").await;
    let out = screen.take();
    assert!(out.contains("SUCCESS"), "{out}");
    assert_eq!(png_size(&saved(&out, "history.png")), TIMELINE_SIZE);
    say("metrics for last 7 days").await;
    let again = saved(&screen.take(), "metrics.png");
    assert_ne!(again, chart);
    assert!(chart.exists() && again.exists());
}
