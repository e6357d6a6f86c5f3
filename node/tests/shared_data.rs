//! Every third-party FHIR file in ../shared/data/fhir either lands whole or is refused with a
//! reason, and a refusal leaves the log exactly as it was.

mod common;

use common::Hl;

/// Expected outcome per file, in ingest order: Ok(records) or Err(words the error must hold).
fn expectations() -> Vec<(&'static str, Result<u64, &'static str>)> {
    vec![
        // The Patients, Organizations and Practitioner others point at go first.
        ("hl7-r4-examples/Patient-animal.json", Ok(1)),
        ("hl7-r4-examples/Patient-example.json", Ok(1)),
        ("hl7-r4-examples/Patient-f001.json", Ok(1)),
        ("hl7-r4-examples/Patient-glossy.json", Ok(1)),
        ("hl7-r4-examples/Patient-pat1.json", Ok(1)),
        ("hl7-r4-examples/Organization-1.json", Ok(1)),
        ("hl7-r4-examples/Organization-hl7.json", Ok(1)),
        ("hl7-r4-examples/Practitioner-example.json", Ok(1)),
        ("hl7-r4-examples/AllergyIntolerance-example.json", Ok(1)),
        ("hl7-r4-examples/AuditEvent-example.json", Ok(1)),
        ("hl7-r4-examples/Binary-example.json", Ok(1)),
        (
            "hl7-r4-examples/Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json",
            Err("type: Bundle type 'message' is not supported"),
        ),
        (
            "hl7-r4-examples/Bundle-bundle-example.json",
            Err("type: Bundle type 'searchset' is a query result"),
        ),
        (
            "hl7-r4-examples/Bundle-bundle-references.json",
            Err(
                "entry 8: fullUrl: duplicate fullUrl http://example.org/fhir/Patient/45 (also entry 7)",
            ),
        ),
        (
            "hl7-r4-examples/Bundle-bundle-request-medsallergies.json",
            Err("entry 0: request.method: GET entries are not accepted"),
        ),
        (
            "hl7-r4-examples/Bundle-bundle-response-medsallergies.json",
            Err("type: Bundle type 'batch-response' is a server response"),
        ),
        (
            "hl7-r4-examples/Bundle-bundle-response.json",
            Err("type: Bundle type 'transaction-response' is a server response"),
        ),
        (
            "hl7-r4-examples/Bundle-bundle-transaction.json",
            Err("entry 5: request.method: DELETE entries are not accepted"),
        ),
        ("hl7-r4-examples/Bundle-f001.json", Ok(2)),
        ("hl7-r4-examples/Bundle-father.json", Ok(8)),
        (
            "hl7-r4-examples/Bundle-hla-1.json",
            Err("entry 0: resource.subject.reference: reference to Patient/119 cannot be resolved"),
        ),
        (
            "hl7-r4-examples/Bundle-lipids.json",
            Err(
                "entry 0: resource.subject.reference: reference to Patient/pat2 cannot be resolved",
            ),
        ),
        ("hl7-r4-examples/Bundle-ussg-fht.json", Ok(11)),
        ("hl7-r4-examples/Bundle-xds.json", Ok(5)),
        (
            "hl7-r4-examples/Composition-example.json",
            Err("resource.subject.reference: reference to Patient/xcda cannot be resolved"),
        ),
        ("hl7-r4-examples/Condition-example.json", Ok(1)),
        ("hl7-r4-examples/Consent-consent-example-basic.json", Ok(1)),
        (
            "hl7-r4-examples/Consent-consent-example-signature.json",
            Err("resource.patient.reference: reference to Patient/72 cannot be resolved"),
        ),
        (
            "hl7-r4-examples/DiagnosticReport-f201.json",
            Err("resource.subject.reference: reference to Patient/f201 cannot be resolved"),
        ),
        (
            "hl7-r4-examples/DocumentReference-example.json",
            Err("resource.subject.reference: reference to Patient/xcda cannot be resolved"),
        ),
        ("hl7-r4-examples/Encounter-example.json", Ok(1)),
        ("hl7-r4-examples/Immunization-example.json", Ok(1)),
        ("hl7-r4-examples/MedicationRequest-medrx0302.json", Ok(1)),
        ("hl7-r4-examples/Observation-blood-pressure.json", Ok(1)),
        ("hl7-r4-examples/Observation-bmi.json", Ok(1)),
        ("hl7-r4-examples/Observation-decimal.json", Ok(1)),
        ("hl7-r4-examples/Observation-example.json", Ok(1)),
        ("hl7-r4-examples/Observation-f001.json", Ok(1)),
        ("hl7-r4-examples/Observation-heart-rate.json", Ok(1)),
        ("hl7-r4-examples/Observation-vitals-panel.json", Ok(1)),
        ("hl7-r4-examples/Procedure-example.json", Ok(1)),
        ("hl7-r4-examples/Provenance-example.json", Ok(1)),
        ("hl7-r4-examples/Provenance-signature.json", Ok(1)),
        // A second PUT of the same Patient is a new version, not an overwrite.
        ("hl7-r4-examples/Patient-example.json", Ok(1)),
        (
            "synthea-smart-on-fhir/hospitalInformation1559319163815.json",
            Ok(102),
        ),
        (
            "synthea-smart-on-fhir/practitionerInformation1559319163815.json",
            Ok(102),
        ),
        (
            "synthea-smart-on-fhir/Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json",
            Ok(66),
        ),
        (
            "synthea-smart-on-fhir/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
            Ok(70),
        ),
        (
            "synthea-smart-on-fhir/Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json",
            Ok(73),
        ),
        (
            "synthea-smart-on-fhir/Versie_Botsford_56121408-15fe-47a5-8279-6f05dee51464.json",
            Ok(208),
        ),
        ("synthea-tietai/Darrell_Funk_3dd33b34.json", Ok(281)),
        ("synthea-tietai/Delmer_Hoeger_af6711d4.json", Ok(342)),
    ]
}

#[test]
fn every_shared_fhir_file_lands_whole_or_is_refused_with_its_reason() {
    let root = common::shared_fhir();
    let listed: std::collections::BTreeSet<&str> = expectations().iter().map(|(f, _)| *f).collect();
    // Every JSON file in the folder has an expectation, so a new sample cannot slip by.
    for dir in ["hl7-r4-examples", "synthea-smart-on-fhir", "synthea-tietai"] {
        for e in std::fs::read_dir(root.join(dir)).expect("sample dir") {
            let name = format!("{dir}/{}", e.expect("entry").file_name().to_string_lossy());
            if name.ends_with(".json") {
                assert!(listed.contains(name.as_str()), "no expectation for {name}");
            }
        }
    }

    let hl = Hl::init();
    let mut expected_size = 0;
    let mut first_index = std::collections::HashMap::new();
    for (file, want) in expectations() {
        let path = root.join(file);
        let before = hl.head();
        // QC summaries are appended by the run over the whole log below, so that sizes here
        // count the files' own records.
        let r = hl.run(&[
            "ingest",
            "--no-qc",
            "--json",
            path.to_str().expect("utf8 path"),
        ]);
        match want {
            Ok(n) => {
                assert!(r.ok, "{file} should land: {}", r.stderr);
                let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
                assert_eq!(v["records_added"], n, "{file}");
                expected_size += n;
                first_index.insert(file, v["files"][0]["first_index"].as_u64().expect("index"));
                assert_eq!(v["size"], expected_size, "{file}");
            }
            Err(words) => {
                assert_eq!(r.code, Some(1), "{file} should be refused");
                let line = r.stderr.trim();
                assert_eq!(line.lines().count(), 1, "one-line error for {file}: {line}");
                assert!(line.contains(file), "error names the file: {line}");
                assert!(
                    line.contains(words),
                    "{file}: expected '{words}' in: {line}"
                );
                assert_eq!(hl.head(), before, "{file} was refused but the log changed");
            }
        }
    }

    // Every rule, programme and score over every resident of the real files: no crash, and
    // every finding names its evidence in the log.
    let report = hl.json(&["qc", "report", "--at", "2026-01-01"]);
    assert!(
        report["residents"].as_u64().expect("residents") >= 6,
        "{report}"
    );
    for f in report["findings"].as_array().expect("findings") {
        let evidence = f["evidence"].as_array().expect("evidence");
        assert!(!evidence.is_empty(), "{f}");
        assert!(
            evidence
                .iter()
                .all(|l| l.as_u64().expect("leaf") < expected_size),
            "{f}"
        );
        assert!(!f["message"].as_str().expect("message").is_empty());
    }

    // Patient/example was sent twice: two versions, the second pointing at the same resident.
    let at = |file: &str| first_index[file].to_string();
    let r = hl.json(&[
        "record",
        "get",
        "--index",
        &at("hl7-r4-examples/Patient-example.json"),
    ]);
    assert_eq!(r["envelope"]["id"], "example");
    assert_eq!(r["envelope"]["version"], 2);
    assert_eq!(r["envelope"]["resident_scope"], "institution");
    // Synthea residents carry a US SSN: linkable across the consortium.
    let last = hl.json(&[
        "record",
        "get",
        "--index",
        &at("synthea-tietai/Delmer_Hoeger_af6711d4.json"),
    ]);
    assert_eq!(last["envelope"]["kind"], "Patient");
    assert_eq!(last["envelope"]["resident_scope"], "consortium");
    // Decimals are kept exactly as received.
    let decimal = hl.json(&[
        "record",
        "get",
        "--index",
        &at("hl7-r4-examples/Observation-decimal.json"),
    ]);
    assert_eq!(decimal["envelope"]["id"], "decimal");
    let content = decimal["content"].to_string();
    assert!(content.contains("1.000000000000000000E-245"), "{content}");

    let fsck = hl.run(&["fsck"]);
    assert!(fsck.ok, "fsck after ingest: {}{}", fsck.stdout, fsck.stderr);
    assert!(
        fsck.stdout
            .contains(&format!("checked {expected_size} records")),
        "{}",
        fsck.stdout
    );
}
