//! S5 through the one trainer on the LRA Image fixture (real format): a run of a few epochs
//! finishes, its BatchNorm statistics move away from their initial 0 and 1 (the trainer calls
//! `update_running_state` after each training batch), and they come back from the checkpoint.

use crate::support::fixture;
use elmbench::models::Buffer;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, RunStatus, TrainOptions};
use elmbench::weights::read_checkpoint;

#[test]
fn s5_trains_on_lra_image_and_keeps_its_running_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s5_image.toml");
    std::fs::write(
        &path,
        r#"
[model]
kind = "s5"
d_input = 16
d_output = 10
d_model = 8
ssm_size_base = 8
blocks = 2
n_layers = 1
bidirectional = true
p_dropout = 0.1
mode = "last"

[task]
name = "lra-image"

[train]
optimizer = "adam"
learning_rate = 1e-3
epochs = 2
batch_size = 2
"#,
    )
    .unwrap();
    let config = TrainConfig::load(&path, &[]).unwrap();
    let out = dir.path().join("run");
    let options = TrainOptions::quiet(out.clone(), fixture("lra"));
    assert_eq!(train(&config, &options).unwrap().status, RunStatus::Ok);
    let model = read_checkpoint(&out.join("model.safetensors")).unwrap();
    let buffers = model.buffers();
    assert_eq!(buffers.len(), 2);
    for (name, buffer) in buffers {
        let Buffer::F32(values) = buffer else { panic!("{name} is f32") };
        assert!(values.iter().all(|v| v.is_finite()), "{name}");
        assert!(values.iter().any(|v| *v != 0.0 && *v != 1.0), "{name} never updated: {values:?}");
    }
}
