//! smart-me's official sample payload (`testdata/smartme/`) decodes to exactly its published values.

use shared::partners::smartme::decode;

fn vectors_dir() -> std::path::PathBuf {
    testkit::workspace_root().join("testdata/smartme")
}

#[test]
fn the_official_sample_decodes_to_the_expected_values() {
    let body = std::fs::read(vectors_dir().join("sample.bin")).expect("sample.bin from testdata/smartme");
    let hex = std::fs::read_to_string(vectors_dir().join("sample.hex")).unwrap();
    assert_eq!(shared::crypto::to_hex(&body), hex.trim().to_ascii_lowercase(), "sample.bin and sample.hex agree");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("sample.expected.json")).unwrap()).unwrap();
    let readings = decode(&body).unwrap().readings;
    let items = expected["items"].as_array().unwrap();
    assert_eq!(readings.len(), items.len());
    for (reading, item) in readings.iter().zip(items) {
        assert_eq!(reading.device_id.to_string(), item["device_id"].as_str().unwrap());
        assert_eq!(reading.time.to_rfc3339(), item["time_utc"].as_str().unwrap());
        let values = item["values"].as_array().unwrap();
        assert_eq!(reading.values.len(), values.len());
        for ((obis, value), want) in reading.values.iter().zip(values) {
            assert_eq!(obis.to_string(), want["obis"].as_str().unwrap());
            assert_eq!(*value, want["value"].as_f64().unwrap());
        }
    }
}
