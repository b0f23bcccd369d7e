//! The LRA tasks through the one trainer, on the real-format fixtures: a killed run resumes to
//! exactly the weights of an uninterrupted one, the training stream covers each item once per
//! epoch, bad task settings and ill-fitting models are refused by name, and the configuration
//! files load with the presets' values.

use crate::support::fixture;
use elmbench::tasks::TaskConfig;
use elmbench::train::config::TrainConfig;
use elmbench::train::{train, RunStatus, TrainOptions};
use elmbench::weights::read_checkpoint;
use std::path::Path;

fn config(file: &str, sets: &[&str]) -> TrainConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/lra").join(file);
    TrainConfig::load(&path, &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn options(dir: &Path, resume: bool, stop_after: Option<usize>) -> TrainOptions {
    TrainOptions { resume, stop_after, ..TrainOptions::quiet(dir, fixture("lra")) }
}

#[test]
fn a_resumed_lra_run_ends_bit_identical_to_an_uninterrupted_one() {
    // The Image fixture: 5 training records (2 batches of 2 an epoch), 1 validation, 2 test.
    let config =
        config("elm_image.toml", &["model.num_memory=8", "train.epochs=3", "train.batch_size=2", "train.prefetch=2"]);
    let straight = tempfile::tempdir().unwrap();
    assert_eq!(train(&config, &options(straight.path(), false, None)).unwrap().status, RunStatus::Ok);
    let interrupted = tempfile::tempdir().unwrap();
    assert_eq!(train(&config, &options(interrupted.path(), false, Some(1))).unwrap().status, RunStatus::Running);
    let resumed = train(&config, &options(interrupted.path(), true, None)).unwrap();
    assert_eq!(resumed.status, RunStatus::Ok);
    assert_eq!(resumed.data_source, "real", "the fixtures are the real format without a synthetic marker");
    for name in ["model.safetensors", "best.safetensors"] {
        let a = read_checkpoint(&straight.path().join(name)).unwrap();
        let b = read_checkpoint(&interrupted.path().join(name)).unwrap();
        assert_eq!(a.params(), b.params(), "{name}: resumed weights differ");
    }
}

#[test]
fn an_epoch_shows_every_training_item_once() {
    let task = TaskConfig::named("lra-pathfinder").unwrap().open(&fixture("lra"), true).unwrap();
    let mut stream = task.train_stream(2, 7).unwrap();
    // Four images, all in training: each epoch is two batches holding the four labels 0, 1, 0, 1.
    for epoch in 0..3 {
        let mut labels = Vec::new();
        for _ in 0..2 {
            let batch = stream.next_batch().unwrap();
            assert_eq!((batch.inputs.batch, batch.inputs.time, batch.inputs.features), (2, 1024, 16));
            // One-hot: exactly one non-zero per step of an image.
            assert_eq!(batch.inputs.feature.len(), 2 * 1024);
            let elmbench::tasks::Targets::Classes(y) = batch.targets else { panic!("classes") };
            labels.extend(y);
        }
        labels.sort_unstable();
        assert_eq!(labels, vec![0, 0, 1, 1], "epoch {epoch}");
    }
}

#[test]
fn input_dropout_drops_training_tokens_at_its_rate_resumably_and_never_at_evaluation() {
    let open = |p: &str| {
        let config =
            elmbench::overrides::apply(&TaskConfig::named("lra-pathfinder").unwrap(), &[format!("input_dropout={p}")])
                .unwrap();
        config.open(&fixture("lra"), true).unwrap()
    };
    let task = open("0.3");
    let mut stream = task.train_stream(2, 7).unwrap();
    let mut kept = 0;
    let batches = 6;
    for _ in 0..batches {
        let batch = stream.next_batch().unwrap();
        // Every step of an image is one token; a dropped token leaves its step all zero.
        assert_eq!(batch.inputs.row_start.len(), 2 * 1024 + 1);
        kept += batch.inputs.feature.len();
    }
    // 12,288 tokens each kept with probability 0.7: the binomial's sd is ~51.
    let expected = 0.7 * (batches * 2 * 1024) as f64;
    assert!((kept as f64 - expected).abs() < 5.0 * 51.0, "kept {kept} of {}, expected ~{expected}", batches * 2048);
    // The dropout generator is part of the saved stream: a restored stream drops the same tokens.
    let saved = stream.state().unwrap();
    let next = stream.next_batch().unwrap();
    let mut restored = open("0.3").train_stream(2, 7).unwrap();
    restored.restore(&saved).unwrap();
    let again = restored.next_batch().unwrap();
    assert_eq!((next.inputs.feature, next.inputs.row_start), (again.inputs.feature, again.inputs.row_start));
    // Evaluation sees every token: the same model scores the same with and without the setting.
    let model = elmbench::models::ModelConfig::Elm(
        serde_json::from_value(
            serde_json::json!({"num_input": 16, "num_output": 2, "num_memory": 4, "readout": "last-step"}),
        )
        .unwrap(),
    )
    .build(1)
    .unwrap();
    let with = task.evaluate(model.as_ref(), elmbench::tasks::Split::Train).unwrap();
    let without = open("0").evaluate(model.as_ref(), elmbench::tasks::Split::Train).unwrap();
    assert_eq!(format!("{with:?}"), format!("{without:?}"));
}

#[test]
fn bad_lra_settings_are_refused_by_name() {
    for (task, set, words) in [
        ("lra-listops", "train_items=0", "task.train_items"),
        ("lra-listops", "max_length=2001", "task.max_length"),
        ("lra-image", "max_length=100", "task.max_length"),
        ("lra-image", "downscale=2", "task.downscale"),
        ("lra-pathfinder", "downscale=3", "task.downscale"),
        ("lra-text", "test_items=2000000", "task.test_items"),
        ("lra-pathfinder", "input_dropout=1", "task.input_dropout"),
    ] {
        let config = elmbench::overrides::apply(&TaskConfig::named(task).unwrap(), &[set.to_string()]).unwrap();
        let err = format!("{:#}", config.validate().unwrap_err());
        assert!(err.contains(words), "{task} {set}: {err}");
    }
}

#[test]
fn models_that_do_not_fit_an_lra_task_are_refused() {
    let out = tempfile::tempdir().unwrap();
    for (sets, words) in [
        (&["model.num_output=2"][..], "10 outputs"),
        (&["model.readout=per-step"][..], "readout"),
        (&["model.num_input=8"][..], "16 one-hot inputs"),
        (&["task.name=lra-retrieval", "model.num_input=105", "model.num_output=2"][..], "two-tower"),
        (&["train.ssm_learning_rate=1e-3"][..], "no state-space parameters"),
    ] {
        let err =
            format!("{:#}", train(&config("elm_image.toml", sets), &options(out.path(), false, None)).unwrap_err());
        assert!(err.contains(words), "{sets:?}: {err}");
    }
}

#[test]
fn schedule_settings_that_cannot_apply_are_refused_by_name() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/lra/elm_image.toml");
    for (sets, words) in [
        (&["train.warmup_epochs=1"][..], "only schedule = \"warmup-cosine\""),
        (&["train.ssm_learning_rate=-1"][..], "train.ssm_learning_rate"),
        (&["train.schedule=warmup-cosine", "train.warmup_epochs=100001"][..], "train.warmup_epochs"),
    ] {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let err = format!("{:#}", TrainConfig::load(&path, &sets).and_then(|c| c.train.validate()).unwrap_err());
        assert!(err.contains(words), "{sets:?}: {err}");
    }
    let warm = config("elm_image.toml", &["train.schedule=warmup-cosine", "train.warmup_epochs=1"]);
    assert_eq!(warm.train.warmup_epochs, 1);
}

#[test]
fn the_config_files_are_the_presets() {
    for (file, kind) in [("elm_image.toml", "elm"), ("chrono_lstm_image.toml", "chrono-lstm")] {
        let loaded = config(file, &[]);
        let preset = loaded.task.model_preset(kind).unwrap();
        assert_eq!(loaded.model, preset, "{file}");
    }
    // Path-X's synapses are slower (Table S2: tau_s 150).
    let pathx = TaskConfig::named("lra-pathx").unwrap().model_preset("elm").unwrap();
    assert!(serde_json::to_string(&pathx).unwrap().contains("\"tau_s_value\":150.0"));
}

#[test]
fn retrieval_trains_in_two_towers_and_counts_pairs_not_documents() {
    // A learning rate too small to move a prediction: the running training accuracy of one epoch
    // over every training pair must equal the evaluator's accuracy on the training split (both
    // count pairs; the model reads two documents a pair).
    let task = elmbench::overrides::apply(&TaskConfig::named("lra-retrieval").unwrap(), &["max_length=64".to_string()])
        .unwrap();
    let config = TrainConfig {
        model: task.model_preset("elm").unwrap(),
        task,
        train: elmbench::train::config::TrainSettings {
            epochs: 1,
            batch_size: 2,
            learning_rate: 1e-12,
            ..Default::default()
        },
    };
    let out = tempfile::tempdir().unwrap();
    let result = train(&config, &options(out.path(), false, None)).unwrap();
    assert_eq!(result.status, RunStatus::Ok);
    let opened = config.task.open(&fixture("lra"), true).unwrap();
    let model = read_checkpoint(&out.path().join("model.safetensors")).unwrap();
    let evaluated = opened.evaluate(model.as_ref(), elmbench::tasks::Split::Train).unwrap()["accuracy"];
    let running = result.train.unwrap()["accuracy"];
    assert!((running - evaluated).abs() < 1e-12, "running {running} vs evaluated {evaluated}");
}
