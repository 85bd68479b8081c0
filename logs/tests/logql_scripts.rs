//! Every LogQL script under `testdata/logql/` runs clean.

use std::path::Path;

#[test]
fn scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/logql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/logql")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let (mut commands, mut failures) = (0, Vec::new());
    for f in &files {
        let script = std::fs::read_to_string(f).expect("script");
        let r = logs::logqltest::run(&script);
        commands += r.commands;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        failures.extend(r.failures.into_iter().map(|x| format!("{name}: {x}")));
    }
    assert!(
        files.len() >= 5 && commands >= 80,
        "{} files, {commands} commands",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
