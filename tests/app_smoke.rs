//! The real app under Xvfb: for each strategy's scenario, open the window, jump into the
//! rollout, save a screenshot and check it is a valid, non-blank PNG of the window's
//! size. Needs `xvfb-run` (Debian packages xvfb, xauth, mesa-vulkan-drivers, libvulkan1;
//! `.ci/run` installs them).
#![cfg(feature = "gui")]

use std::path::{Path, PathBuf};
use std::process::Command;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;

fn xvfb_run() -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("xvfb-run")).find(|p| p.exists()))
        .unwrap_or_default();
    match found {
        Some(p) => p,
        None => panic!(
            "xvfb-run is not installed: `apt-get install xvfb xauth mesa-vulkan-drivers libvulkan1` (or run .ci/run)"
        ),
    }
}

/// Decodes a PNG; returns (width, height, distinct colours among sampled pixels).
fn inspect_png(path: &Path) -> (u32, u32, usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bpp = info.line_size / info.width as usize;
    let mut colours: Vec<&[u8]> = buf[..info.buffer_size()].chunks(bpp).step_by(97).collect();
    colours.sort_unstable();
    colours.dedup();
    (info.width, info.height, colours.len())
}

fn screenshot(args: &[&str], name: &str) -> PathBuf {
    screenshot_of("gui", args, name)
}

fn screenshot_of(command: &str, args: &[&str], name: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("deploysim-smoke-{}-{name}.png", std::process::id()));
    let mut cmd = Command::new(xvfb_run());
    cmd.args(["-a", "-s", &format!("-screen 0 {WIDTH}x{HEIGHT}x24"), env!("CARGO_BIN_EXE_deploysim"), command])
        .args(args)
        .arg("--screenshot")
        .arg(&out)
        .env_remove("WAYLAND_DISPLAY");
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot start xvfb-run: {e}"));
    assert!(
        o.status.success(),
        "{name}: exit {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr).lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    out
}

fn check(path: &Path, name: &str) {
    let (w, h, colours) = inspect_png(path);
    assert_eq!((w, h), (WIDTH, HEIGHT), "{name}: window size");
    assert!(colours > 20, "{name}: only {colours} colours — a blank window?");
}

#[test]
fn every_strategy_renders_mid_rollout() {
    let cases = [
        ("scenarios/recreate.ron", "10m10s"),
        ("scenarios/rolling-bad-release.ron", "10m20s"),
        ("scenarios/bluegreen-bad-release.ron", "5m50s"),
        ("scenarios/bluegreen-dns.ron", "6m"),
        ("scenarios/canary-bad-release.ron", "5m50s"),
        ("scenarios/canary-kayenta.ron", "7m"),
        ("scenarios/flagger.ron", "7m"),
        ("scenarios/codedeploy-bad-release.ron", "6m"),
        ("scenarios/feature-toggle-bad-release.ron", "4m"),
        ("scenarios/ab-test.ron", "20m"),
        ("scenarios/shadow-bad-release.ron", "6m"),
        ("scenarios/in-place.ron", "5m40s"),
        ("scenarios/autoscaler-canary-herd.ron", "11m"),
    ];
    for (file, at) in cases {
        let name = Path::new(file).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let png = screenshot(&[file, "--at", at], &name);
        check(&png, &name);
        let _ = std::fs::remove_file(png);
    }
}

#[test]
fn compare_view_renders() {
    let png = screenshot(
        &["scenarios/compare-bad-release.ron", "--compare", "canary,blue-green,rolling", "--at", "9m"],
        "compare",
    );
    check(&png, "compare");
    let _ = std::fs::remove_file(png);
}

/// Started outside the checkout, the app takes its fonts and window icon from the files
/// built into it, and opens a shipped scenario by name.
#[test]
fn fonts_and_icon_come_from_the_embedded_assets() {
    let dir = std::env::temp_dir().join(format!("deploysim-smoke-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let out = dir.join("shot.png");
    let o = Command::new(xvfb_run())
        .args(["-a", "-s", &format!("-screen 0 {WIDTH}x{HEIGHT}x24"), env!("CARGO_BIN_EXE_deploysim"), "gui"])
        .args(["rolling-bad-release", "--at", "2m", "--screenshot"])
        .arg(&out)
        .current_dir(&dir)
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap_or_else(|e| panic!("cannot start xvfb-run: {e}"));
    let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "exit {:?}\n{log}", o.status);
    assert!(log.contains("interface fonts loaded from embedded://deploysim/fonts"), "{log}");
    assert!(log.contains("window icon set from embedded://deploysim/icons/deploysim.png"), "{log}");
    check(&out, "embedded-assets");
    let _ = std::fs::remove_dir_all(dir);
}

/// Without a display the app says so and points to the headless commands.
#[test]
fn without_a_display_the_app_explains_itself() {
    let o = Command::new(env!("CARGO_BIN_EXE_deploysim"))
        .arg("gui")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap_or_else(|e| panic!("cannot start deploysim: {e}"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no display") && err.contains("deploysim run"), "{err}");
    assert!(!err.contains("panicked"));
}

/// A lesson step in presenter mode at 1280×800 (the README's teaching picture), and a
/// lesson on a scenario without a fleet (narration in the middle).
#[test]
fn lesson_in_presenter_mode_renders() {
    for (file, step, name) in [
        ("scenarios/lessons/canary.ron", "2", "lesson-canary"),
        ("scenarios/lessons/big-bang.ron", "1", "lesson-big-bang"),
    ] {
        let png = screenshot_of("lesson", &[file, "--presenter", "--step", step], name);
        check(&png, name);
        let _ = std::fs::remove_file(png);
    }
}
