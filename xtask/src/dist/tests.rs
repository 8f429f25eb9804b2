//! Tests for the pure parts of the Debian packaging: control file, Depends, units, crate list.

use super::*;

fn fields(homepage: Option<&str>) -> Fields<'_> {
    Fields {
        version: "1.2.3-1",
        arch: "amd64",
        installed_size_kib: 4321,
        depends: "libc6 (>= 2.34), libgcc-s1 (>= 4.2)",
        homepage,
    }
}

#[test]
fn control_file_is_filled_from_the_committed_template() {
    let root = util::repo_root().unwrap_or_default();
    let template = read(&root.join("contrib/debian/control.in")).unwrap_or_default();
    let control =
        control_file(&template, &fields(Some("https://example.org/ms"))).unwrap_or_default();
    for want in [
        "Package: mailstaple",
        "Version: 1.2.3-1",
        "Architecture: amd64",
        "Installed-Size: 4321",
        "Depends: libc6 (>= 2.34), libgcc-s1 (>= 4.2), adduser",
        "Section: mail",
        "Priority: optional",
        "Homepage: https://example.org/ms",
    ] {
        assert!(control.lines().any(|l| l == want), "{want} in\n{control}");
    }
    assert!(
        control.ends_with('\n') && !control.lines().any(has_placeholder),
        "{control}"
    );

    let without = control_file(&template, &fields(None)).unwrap_or_default();
    assert!(!without.contains("Homepage"), "{without}");
    assert_eq!(without.lines().count() + 1, control.lines().count());
}

#[test]
fn a_placeholder_left_over_is_an_error() {
    let err = control_file("Package: mailstaple\nFoo: @BAR@\n", &fields(None));
    assert!(err.is_err());
}

#[test]
fn shlibdeps_output_is_parsed() {
    assert_eq!(
        parse_shlibdeps("shlibs:Depends=libc6 (>= 2.34), libgcc-s1 (>= 4.2)\n").ok(),
        Some("libc6 (>= 2.34), libgcc-s1 (>= 4.2)".to_owned())
    );
    assert!(parse_shlibdeps("shlibs:Depends=\n").is_err());
    assert!(parse_shlibdeps("").is_err());
}

#[test]
fn packaged_units_run_the_packaged_binary() {
    let root = util::repo_root().unwrap_or_default();
    let mut seen = 0;
    for unit in list_dir(&root.join("contrib/systemd")).unwrap_or_default() {
        if unit.extension().is_none_or(|e| e != "service") {
            continue;
        }
        seen += 1;
        let packaged = packaged_unit(&read(&unit).unwrap_or_default());
        assert!(!packaged.contains("/usr/local/"), "{}", unit.display());
        assert!(
            packaged.contains("ExecStart=/usr/bin/mailstaple "),
            "{}",
            unit.display()
        );
    }
    assert_eq!(seen, 3, "the serve, fetch and respond units");
}

#[test]
fn linked_crates_skip_our_own_and_repeats() {
    let tree = "mailstaple v0.1.0 (/w/crates/mailstaple)\tApache-2.0 OR MIT\n\
                anyhow v1.0.100\tMIT OR Apache-2.0\n\
                mailstaple-ocsp v0.1.0 (/w/crates/mailstaple-ocsp)\tApache-2.0 OR MIT\n\
                anyhow v1.0.100\tMIT OR Apache-2.0\n\
                aws-lc-sys v0.32.0\tISC AND (Apache-2.0 OR ISC) AND OpenSSL\n\
                bytes v1.10.1\tMIT (*)\n\
                odd v0.1.0\t\n";
    assert_eq!(
        linked_crates(tree),
        vec![
            ("anyhow v1.0.100".to_owned(), "MIT OR Apache-2.0".to_owned()),
            (
                "aws-lc-sys v0.32.0".to_owned(),
                "ISC AND (Apache-2.0 OR ISC) AND OpenSSL".to_owned()
            ),
            ("bytes v1.10.1".to_owned(), "MIT".to_owned()),
            ("odd v0.1.0".to_owned(), "unstated".to_owned()),
        ]
    );
}

#[test]
fn changelog_entry_has_debians_shape() {
    let entry = debian_changelog(
        "1.2.3",
        "1.2.3-1",
        "M <m@example.org>",
        "Sun, 06 Dec 2026 23:50:46 +0000",
    );
    let lines: Vec<&str> = entry.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"mailstaple (1.2.3-1) unstable; urgency=medium")
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| *l == " -- M <m@example.org>  Sun, 06 Dec 2026 23:50:46 +0000"),
        "{entry}"
    );
}

#[test]
fn examples_are_uncommented_and_prose_is_not() {
    let text = "# prose: [server] below\n#[server]\n#listen = \"x\"\n#\n#    indented prose\n";
    assert_eq!(
        uncomment_examples(text),
        "# prose: [server] below\n[server]\nlisten = \"x\"\n#\n#    indented prose\n"
    );
}

#[test]
fn the_maintainer_comes_from_the_template() {
    assert_eq!(
        maintainer("Package: x\nMaintainer: A B <a@example.org>\n").ok(),
        Some("A B <a@example.org>".to_owned())
    );
    assert!(maintainer("Package: x\n").is_err());
}
