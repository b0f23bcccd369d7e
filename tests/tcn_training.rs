//! A short NeuronIO run of a small TCN (Beniaguev's preset shrunk to two narrow layers) through the
//! common trainer, from the preset's config file: it completes and predicts the validation soma
//! better than the same network untrained. The learning rate is raised from the config's 1e-4 (set
//! for the 9M-parameter network) to 1e-3, at which 80 steps move a network this small clearly.

use crate::lif_training::short_run;

#[test]
fn a_small_tcn_learns_the_soma() {
    let (before, after) = short_run(
        "tcn_beniaguev.toml",
        &[
            "model.num_layers=2",
            "model.num_filters=8",
            "model.first_filter_size=20",
            "model.filter_size=5",
            "train.epochs=2",
            "train.batches_per_epoch=40",
            "train.prefetch=3",
            "train.learning_rate=1e-3",
        ],
    );
    assert!(after < 0.95 * before, "RMSE {after} after training, {before} before");
}
