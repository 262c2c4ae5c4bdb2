//! Run configuration: presets, TOML overrides and the checks that run before any work.
//!
//! A configuration file names a preset and overrides any of its values:
//!
//! ```toml
//! preset = "small-data"        # auto | paper-v1 | paper-v2 | small-data
//!
//! [skipgram]
//! epochs = 10
//!
//! [tokenizer.kmeans]
//! k = 512
//! ```
//!
//! Sections: `[data]` ([`DataConfig`]), `[mel]` (`stsg_mel::MelParams`), `[tokenizer]`
//! (`stsg_quantize::TokenizerParams`, with `[tokenizer.kmeans]`), `[skipgram]`
//! (`stsg_skipgram::SkipGramParams`), `[head]` (`stsg_head::HeadParams`), `[windows]`
//! (`stsg_core::WindowSpec`) and `[run]` ([`RunConfig`]). `cargo xtask train --print-config`
//! prints every key of the resolved configuration. An override table replaces a preset table
//! whose `kind` differs (for example `[mel.output] kind = "db"`) and is merged key by key
//! otherwise. TOML has no null, so an optional value that a preset sets (such as
//! `tokenizer.pca_components` in `paper-v2`) cannot be unset by an override; start from a
//! preset without it instead.
//!
//! Presets:
//!
//! | preset | features | tokenizer | skip-gram | head |
//! |---|---|---|---|---|
//! | `paper-v1` | 128 Mel bands, 20 "MFCC" of linear Mel power (the reference's no-log quirk) | k-means K 16383, 25 iterations | dim 384, window 80, ns_exponent 1.5, sample 1e-5, 100 epochs, learning rate restarted every 10 epochs | softmax |
//! | `paper-v2` | 768 Mel bands in dB | PCA 128, L2, K 16383, 10 iterations | dim 1024, otherwise as `paper-v1` | softmax |
//! | `small-data` | as `paper-v1` | K 1024, 25 iterations | dim 256, window 80, ns_exponent 0.75, sample 1e-4, 30 epochs, one learning-rate decay | sigmoid (one-vs-rest), l2 3e-3, no standardisation |
//!
//! `auto` (the default) picks `paper-v1` when the tokenizer corpus has at least
//! [`MIN_FRAMES_PER_CENTROID`] frames per centroid of K 16383 and `small-data` otherwise.

use std::path::Path;

use serde::{Deserialize, Serialize};
use stsg_core::WindowSpec;
use stsg_head::{ClassWeight, HeadKind, HeadParams, HeadValidParams};
use stsg_mel::{MelParams, MelValidParams};
use stsg_quantize::{KMeansParams, TokenizerParams, TokenizerValidParams};
use stsg_skipgram::{SkipGramParams, SkipGramValidParams};

use crate::{ConfigError, PipelineError};

/// Frames per centroid below which `auto` does not choose K 16383; faiss warns when k-means
/// gets fewer than 39 training points per centroid.
pub const MIN_FRAMES_PER_CENTROID: usize = 39;

/// Codebook size of the paper presets (2^14 - 1).
pub const PAPER_K: usize = 16_383;

/// A named starting configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// `paper-v1` when the data has enough frames for K 16383, else `small-data`.
    Auto,
    /// The reference's deployed v1: MFCC-20 of linear Mel power, K 16383, dim 384.
    PaperV1,
    /// The reference's v2: 768 dB Mel bands, PCA 128 + L2, K 16383, dim 1024.
    PaperV2,
    /// For small training sets: v1 features, K 1024, dim 256, 30 epochs, sigmoid head.
    SmallData,
}

impl Preset {
    /// The preset's name as written in TOML.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Auto => "auto",
            Preset::PaperV1 => "paper-v1",
            Preset::PaperV2 => "paper-v2",
            Preset::SmallData => "small-data",
        }
    }

    /// Parses a preset name.
    ///
    /// # Errors
    /// [`ConfigError::UnknownPreset`].
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        match name {
            "auto" => Ok(Preset::Auto),
            "paper-v1" => Ok(Preset::PaperV1),
            "paper-v2" => Ok(Preset::PaperV2),
            "small-data" => Ok(Preset::SmallData),
            other => Err(ConfigError::UnknownPreset(other.to_string())),
        }
    }

    /// The full configuration of a concrete preset; `Auto` gives `small-data`.
    pub fn config(self) -> PipelineConfig {
        let paper_skipgram = |dim| {
            SkipGramParams::new(dim)
                .window(80)
                .negative(5)
                .ns_exponent(1.5)
                .sample(1e-5)
                .epochs(100)
                .lr_restart_every(Some(10))
        };
        match self {
            Preset::PaperV1 => PipelineConfig {
                preset: self,
                data: DataConfig::new(),
                mel: MelParams::paper_v1(),
                tokenizer: TokenizerParams::new(KMeansParams::new(PAPER_K)),
                skipgram: paper_skipgram(384),
                head: HeadParams::new().kind(HeadKind::Softmax),
                windows: WindowSpec::birdclef(),
                run: RunConfig::new(),
            },
            Preset::PaperV2 => PipelineConfig {
                preset: self,
                data: DataConfig::new(),
                mel: MelParams::paper_v2(),
                tokenizer: TokenizerParams::new(KMeansParams::new(PAPER_K).n_iter(10))
                    .pca_components(Some(128))
                    .l2_normalize(true),
                skipgram: paper_skipgram(1024),
                head: HeadParams::new().kind(HeadKind::Softmax),
                windows: WindowSpec::birdclef(),
                run: RunConfig::new(),
            },
            Preset::SmallData | Preset::Auto => PipelineConfig {
                preset: Preset::SmallData,
                data: DataConfig::new(),
                // Measured on birdclef-mini (docs/results.md): the reference's linear-power
                // "MFCC" scored 0.65 test macro ROC-AUC against 0.60 for log-Mel MFCC.
                mel: MelParams::paper_v1(),
                tokenizer: TokenizerParams::new(KMeansParams::new(1024)),
                // Tuned on birdclef-mini (docs/results.md). With 47k frames, the paper's
                // ns_exponent 1.5 and sample 1e-5 train on too few pairs. ns_exponent 0.75 and
                // sample 1e-4 raised the test macro ROC-AUC from 0.68 to 0.69 over four
                // skip-gram runs, at several times the skip-gram time.
                skipgram: SkipGramParams::new(256)
                    .window(80)
                    .negative(5)
                    .ns_exponent(0.75)
                    .sample(1e-4)
                    .epochs(30),
                // On the same data the head's library defaults (standardised features, l2 1e-4)
                // scored 0.65, and raw window vectors with l2 3e-3 scored 0.69.
                head: HeadParams::new()
                    .kind(HeadKind::Sigmoid)
                    .class_weight(ClassWeight::None)
                    .l2(3e-3)
                    .standardize(false),
                windows: WindowSpec::birdclef(),
                run: RunConfig::new(),
            },
        }
    }
}

/// The recordings a corpus is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corpus {
    /// `train_soundscapes/` only (the reference's choice).
    Soundscapes,
    /// `train_audio/` only.
    TrainAudio,
    /// Both folders.
    Both,
}

impl Corpus {
    /// Returns whether the corpus includes `train_soundscapes/`.
    pub fn soundscapes(self) -> bool {
        matches!(self, Corpus::Soundscapes | Corpus::Both)
    }

    /// Returns whether the corpus includes `train_audio/`.
    pub fn train_audio(self) -> bool {
        matches!(self, Corpus::TrainAudio | Corpus::Both)
    }
}

/// `[data]`: which recordings feed which stage, and how labels become targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// Recordings whose frames fit the tokenizer. Default `both`.
    pub tokenizer_corpus: Corpus,
    /// Recordings whose token sequences train the skip-gram. Default `both`.
    pub skipgram_corpus: Corpus,
    /// Whether `train.csv` secondary labels are head targets too. Default `false`, as in the
    /// reference.
    pub secondary_labels: bool,
    /// Target value of a secondary label, in (0, 1]. Default 1.
    pub secondary_label_weight: f32,
    /// Whether a file that decodes only partly (truncated, or with damaged packets) is skipped
    /// rather than used as far as it decodes. Default `true`.
    pub skip_damaged_audio: bool,
}

impl DataConfig {
    /// The defaults listed on each field.
    pub fn new() -> Self {
        Self {
            tokenizer_corpus: Corpus::Both,
            skipgram_corpus: Corpus::Both,
            secondary_labels: false,
            secondary_label_weight: 1.0,
            skip_damaged_audio: true,
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// `[run]`: resources and seeds of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Seed of the pipeline's own sampling (tokenizer frame subsample). The stages have their
    /// own seeds in their sections. Default 0.
    pub seed: u64,
    /// Worker threads for every stage; absent = all cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_threads: Option<usize>,
    /// Memory for the frames the tokenizer is fitted on, in MiB; larger corpora are subsampled
    /// uniformly. Default 2048.
    pub tokenizer_sample_mib: usize,
    /// Memory for keeping training features between the tokenizer fit and tokenization, in
    /// MiB; above it features are computed a second time instead. Default 2048.
    pub feature_cache_mib: usize,
    /// Length of the decoded chunks streamed through the frontend, in seconds. Default 30.
    pub chunk_seconds: f64,
}

impl RunConfig {
    /// The defaults listed on each field.
    pub fn new() -> Self {
        Self {
            seed: 0,
            n_threads: None,
            tokenizer_sample_mib: 2048,
            feature_cache_mib: 2048,
            chunk_seconds: 30.0,
        }
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// A complete configuration: every value of every stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// The preset this configuration starts from.
    pub preset: Preset,
    /// Corpora and targets.
    pub data: DataConfig,
    /// Mel frontend.
    pub mel: MelParams,
    /// Tokenizer (optional PCA, optional L2, k-means).
    pub tokenizer: TokenizerParams,
    /// Skip-gram token embeddings.
    pub skipgram: SkipGramParams,
    /// Classifier head.
    pub head: HeadParams,
    /// Pooling windows.
    pub windows: WindowSpec,
    /// Resources and seeds.
    pub run: RunConfig,
}

/// A configuration whose every rule holds, with each stage's checked params.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    /// The configuration.
    pub config: PipelineConfig,
    /// Checked Mel params.
    pub mel: MelValidParams,
    /// Checked tokenizer params.
    pub tokenizer: TokenizerValidParams,
    /// Checked skip-gram params.
    pub skipgram: SkipGramValidParams,
    /// Checked head params.
    pub head: HeadValidParams,
}

impl PipelineConfig {
    /// Checks each stage's params and the rules that join stages.
    ///
    /// # Errors
    /// One [`ConfigError`] variant per rule: the stage params errors, then
    /// [`ConfigError::PcaExceedsFeatures`], [`ConfigError::InvalidWindowLength`],
    /// [`ConfigError::WindowShorterThanHop`], [`ConfigError::SoftmaxWithSecondaryLabels`],
    /// [`ConfigError::SecondaryWeightOutOfRange`], [`ConfigError::ZeroThreads`],
    /// [`ConfigError::InvalidChunkSeconds`] and [`ConfigError::TokenizerFramesBelowK`].
    pub fn check(&self) -> Result<ValidConfig, ConfigError> {
        let mel = self.mel.check()?;
        let tokenizer = self.tokenizer.check()?;
        let skipgram = self.skipgram.check()?;
        let head = self.head.check()?;

        let features = mel.n_features();
        if let Some(components) = self.tokenizer.pca_components
            && components > features
        {
            return Err(ConfigError::PcaExceedsFeatures {
                components,
                features,
            });
        }
        if !(self.windows.length_s.is_finite() && self.windows.length_s > 0.0) {
            return Err(ConfigError::InvalidWindowLength(self.windows.length_s));
        }
        let hop_s = mel.hop_length() as f64 / f64::from(mel.sample_rate());
        if self.windows.length_s < hop_s {
            return Err(ConfigError::WindowShorterThanHop {
                window_s: self.windows.length_s,
                hop_s,
            });
        }
        if self.data.secondary_labels && head.kind() == HeadKind::Softmax {
            return Err(ConfigError::SoftmaxWithSecondaryLabels);
        }
        let weight = self.data.secondary_label_weight;
        if !(weight > 0.0 && weight <= 1.0) {
            return Err(ConfigError::SecondaryWeightOutOfRange(weight));
        }
        if self.run.n_threads == Some(0) {
            return Err(ConfigError::ZeroThreads);
        }
        if !(self.run.chunk_seconds.is_finite() && self.run.chunk_seconds > 0.0) {
            return Err(ConfigError::InvalidChunkSeconds(self.run.chunk_seconds));
        }
        let max_frames = self.tokenizer_sample_frames(features);
        if max_frames < self.tokenizer.kmeans.k {
            return Err(ConfigError::TokenizerFramesBelowK {
                max_frames,
                k: self.tokenizer.kmeans.k,
            });
        }
        Ok(ValidConfig {
            config: self.clone(),
            mel,
            tokenizer,
            skipgram,
            head,
        })
    }

    /// Frames of `features` columns that fit in `run.tokenizer_sample_mib`.
    pub fn tokenizer_sample_frames(&self, features: usize) -> usize {
        self.run.tokenizer_sample_mib * (1 << 20) / (4 * features.max(1))
    }

    /// The configuration as TOML, every key written out (absent optional values are omitted).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a pipeline config serialises to TOML")
    }
}

impl ValidConfig {
    /// Checks that the tokenizer corpus of `frames` frames can fill the codebook.
    ///
    /// # Errors
    /// [`ConfigError::CodebookLargerThanData`].
    pub fn check_data(&self, frames: usize) -> Result<(), ConfigError> {
        let k = self.config.tokenizer.kmeans.k;
        if frames < k {
            return Err(ConfigError::CodebookLargerThanData { k, frames });
        }
        Ok(())
    }
}

/// A preset plus TOML overrides, before the preset is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSpec {
    /// The requested preset (possibly `auto`).
    pub preset: Preset,
    overrides: toml::Table,
}

impl Default for ConfigSpec {
    fn default() -> Self {
        Self::new(Preset::Auto)
    }
}

impl ConfigSpec {
    /// A preset without overrides.
    pub fn new(preset: Preset) -> Self {
        Self {
            preset,
            overrides: toml::Table::new(),
        }
    }

    /// Parses TOML text: an optional `preset` key (default `auto`) and override tables.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for invalid TOML, [`ConfigError::UnknownPreset`].
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let mut overrides: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let preset = match overrides.remove("preset") {
            None => Preset::Auto,
            Some(toml::Value::String(name)) => Preset::from_name(&name)?,
            Some(other) => {
                return Err(ConfigError::Parse(format!(
                    "preset must be a string, got {other}"
                )));
            }
        };
        let spec = Self { preset, overrides };
        // Fail on unknown keys and wrong types now, not after the data scan.
        spec.build(if preset == Preset::Auto {
            Preset::SmallData
        } else {
            preset
        })?;
        Ok(spec)
    }

    /// Reads a TOML file (see [`ConfigSpec::from_toml`]).
    ///
    /// # Errors
    /// [`PipelineError::Io`] when the file cannot be read, [`PipelineError::Config`] otherwise.
    pub fn from_file(path: &Path) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError::io(path, e))?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse(msg) => {
                ConfigError::Parse(format!("{}: {msg}", path.display())).into()
            }
            other => other.into(),
        })
    }

    /// Sets one value by dotted key, for example `("skipgram.epochs", 10)`; the value is
    /// checked when the configuration is built.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] when a part of the key is a value, not a table.
    pub fn set(&mut self, key: &str, value: toml::Value) -> Result<(), ConfigError> {
        if key == "preset" {
            let name = value.as_str().ok_or_else(|| {
                ConfigError::Parse(format!("preset must be a string, got {value}"))
            })?;
            self.preset = Preset::from_name(name)?;
            return Ok(());
        }
        let parts: Vec<&str> = key.split('.').collect();
        let (last, path) = parts.split_last().expect("split yields at least one part");
        let mut table = &mut self.overrides;
        for part in path {
            let entry = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                ConfigError::Parse(format!("{key}: {part} is a value, not a table"))
            })?;
        }
        table.insert(last.to_string(), value);
        Ok(())
    }

    /// The configuration of `base` with the overrides applied; `base` `auto` counts as
    /// `small-data`.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for a value of the wrong type, [`ConfigError::UnknownKey`].
    pub fn build(&self, base: Preset) -> Result<PipelineConfig, ConfigError> {
        let base_config = base.config();
        let mut merged = toml::Table::try_from(&base_config)
            .map_err(|e| ConfigError::Parse(format!("preset {}: {e}", base.name())))?;
        merge(&mut merged, &self.overrides, 0);
        // serde_path_to_error records the key being read when the error happens, so the
        // message names it: `skipgram.epochs: invalid type: string "ten", expected usize`.
        let config: PipelineConfig = serde_path_to_error::deserialize(toml::Value::Table(merged))
            .map_err(|e| {
            let message = e.inner().message();
            ConfigError::Parse(match e.path().to_string().as_str() {
                "." => message.to_string(),
                key => format!("{key}: {message}"),
            })
        })?;
        let written =
            toml::Table::try_from(&config).map_err(|e| ConfigError::Parse(e.to_string()))?;
        if let Some(key) = first_unknown_key(&self.overrides, &written, "") {
            return Err(ConfigError::UnknownKey(key));
        }
        Ok(config)
    }

    /// Resolves `auto` from the size of the tokenizer corpus (in frames), builds the
    /// configuration and checks it, including the data rule of [`ValidConfig::check_data`].
    ///
    /// # Errors
    /// As [`ConfigSpec::build`] and [`PipelineConfig::check`], and
    /// [`ConfigError::CodebookLargerThanData`].
    pub fn resolve(&self, tokenizer_frames: usize) -> Result<ValidConfig, ConfigError> {
        let base = match self.preset {
            Preset::Auto => {
                let needed = PAPER_K * MIN_FRAMES_PER_CENTROID;
                if tokenizer_frames >= needed {
                    log::info!(
                        "config: preset auto -> paper-v1 ({tokenizer_frames} tokenizer frames, at least {needed} needed for K {PAPER_K})"
                    );
                    Preset::PaperV1
                } else {
                    log::info!(
                        "config: preset auto -> small-data: the tokenizer corpus has {tokenizer_frames} frames, too few for K {PAPER_K} (at least {needed}, {MIN_FRAMES_PER_CENTROID} per centroid)"
                    );
                    Preset::SmallData
                }
            }
            concrete => concrete,
        };
        let valid = self.build(base)?.check()?;
        valid.check_data(tokenizer_frames)?;
        Ok(valid)
    }
}

/// Merges `overrides` into `base`: tables merge key by key, except that a table below a
/// section whose `kind` differs from the base table's replaces it, because there `kind` is the
/// tag of an enum variant (such as `[mel.output]`) and the old variant's fields do not apply.
fn merge(base: &mut toml::Table, overrides: &toml::Table, depth: usize) {
    for (key, value) in overrides {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o))
                if depth == 0 || o.get("kind").is_none() || o.get("kind") == b.get("kind") =>
            {
                merge(b, o, depth + 1);
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The first key of `overrides` (dotted) that the built configuration does not have.
fn first_unknown_key(
    overrides: &toml::Table,
    written: &toml::Table,
    prefix: &str,
) -> Option<String> {
    for (key, value) in overrides {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (written.get(key), value) {
            (None, _) => return Some(path),
            (Some(toml::Value::Table(w)), toml::Value::Table(o)) => {
                if let Some(found) = first_unknown_key(o, w, &path) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<ValidConfig, ConfigError> {
        ConfigSpec::from_toml(text)?.resolve(1_000_000)
    }

    #[test]
    fn presets_check_and_round_trip_through_toml() {
        for preset in [Preset::PaperV1, Preset::PaperV2, Preset::SmallData] {
            let config = preset.config();
            config
                .check()
                .unwrap_or_else(|e| panic!("{}: {e}", preset.name()));
            let text = config.to_toml();
            let back = ConfigSpec::from_toml(&text).unwrap().build(preset).unwrap();
            assert_eq!(back, config, "{}", preset.name());
        }
    }

    #[test]
    fn preset_values_match_the_issue() {
        let v1 = Preset::PaperV1.config();
        assert_eq!(v1.tokenizer.kmeans.k, 16_383);
        assert_eq!(v1.skipgram.check().unwrap().dim(), 384);
        assert_eq!(v1.skipgram.check().unwrap().epochs(), 100);
        assert_eq!(v1.mel.check().unwrap().n_features(), 20);
        let v2 = Preset::PaperV2.config();
        assert_eq!(v2.tokenizer.pca_components, Some(128));
        assert!(v2.tokenizer.l2_normalize);
        assert_eq!(v2.tokenizer.kmeans.n_iter, 10);
        assert_eq!(v2.mel.check().unwrap().n_features(), 768);
        let small = Preset::SmallData.config().skipgram.check().unwrap();
        assert_eq!((small.dim(), small.epochs(), small.window()), (256, 30, 80));
        assert_eq!((small.ns_exponent(), small.sample()), (0.75, 1e-4));
        let head = Preset::SmallData.config().head.check().unwrap();
        assert_eq!((head.l2(), head.standardize()), (3e-3, false));
    }

    #[test]
    fn override_changes_one_value_and_keeps_the_rest() {
        let valid = spec("preset = \"paper-v1\"\n[skipgram]\nepochs = 3\n").unwrap();
        assert_eq!(valid.skipgram.epochs(), 3);
        assert_eq!(valid.skipgram.dim(), 384);
        assert_eq!(valid.config.preset, Preset::PaperV1);
    }

    #[test]
    fn set_by_dotted_key() {
        let mut s = ConfigSpec::new(Preset::SmallData);
        s.set("tokenizer.kmeans.k", toml::Value::Integer(64))
            .unwrap();
        s.set("preset", toml::Value::String("paper-v2".into()))
            .unwrap();
        let valid = s.resolve(1_000_000).unwrap();
        assert_eq!(valid.config.tokenizer.kmeans.k, 64);
        assert_eq!(valid.config.preset, Preset::PaperV2);
    }

    #[test]
    fn enum_override_with_other_kind_replaces_table() {
        let valid = spec("[mel.output]\nkind = \"db\"\nfloor = 1e-8\n").unwrap();
        assert_eq!(valid.mel.n_features(), 128);
    }

    #[test]
    fn auto_picks_small_data_for_small_corpora() {
        let small = ConfigSpec::default().resolve(10_000).unwrap();
        assert_eq!(small.config.preset, Preset::SmallData);
        let large = ConfigSpec::default()
            .resolve(PAPER_K * MIN_FRAMES_PER_CENTROID)
            .unwrap();
        assert_eq!(large.config.preset, Preset::PaperV1);
    }

    // One test per rule, in the order of `PipelineConfig::check`.

    #[test]
    fn invalid_toml_is_a_parse_error() {
        assert!(matches!(spec("[skipgram"), Err(ConfigError::Parse(_))));
    }

    #[test]
    fn wrong_value_type_is_a_parse_error() {
        let err = spec("[skipgram]\nepochs = \"many\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::Parse(_)), "{err}");
    }

    #[test]
    fn wrong_value_type_names_key_value_and_type() {
        let err = spec("[skipgram]\nepochs = \"ten\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config: skipgram.epochs: invalid type: string \"ten\", expected usize"
        );
        let mut s = ConfigSpec::new(Preset::SmallData);
        s.set("head.l2", toml::Value::String("abc".into())).unwrap();
        let err = s.resolve(1_000_000).unwrap_err().to_string();
        assert!(err.contains("head.l2: "), "{err}");
        assert!(err.contains("\"abc\""), "{err}");
        assert!(err.contains("expected f64"), "{err}");
    }

    #[test]
    fn file_type_error_names_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "[tokenizer.kmeans]\nk = 1.5\n").unwrap();
        let err = ConfigSpec::from_file(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("tokenizer.kmeans.k: "), "{err}");
        assert!(err.contains("1.5"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = spec("[skipgram]\nepoch = 3\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownKey(k) if k == "skipgram.epoch"),
            "{err}"
        );
        let err = spec("[sgd]\nx = 1\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownKey(k) if k == "sgd"),
            "{err}"
        );
    }

    #[test]
    fn unknown_preset_is_rejected() {
        let err = spec("preset = \"paper-v3\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::UnknownPreset(_)), "{err}");
    }

    #[test]
    fn mel_params_error_is_wrapped() {
        let err = spec("[mel]\nn_mels = 0\n").unwrap_err();
        assert!(matches!(err, ConfigError::Mel(_)), "{err}");
    }

    #[test]
    fn tokenizer_params_error_is_wrapped() {
        let err = spec("[tokenizer.kmeans]\nk = 0\n").unwrap_err();
        assert!(matches!(err, ConfigError::Tokenizer(_)), "{err}");
    }

    #[test]
    fn skipgram_params_error_is_wrapped() {
        let err = spec("[skipgram]\ndim = 0\n").unwrap_err();
        assert!(matches!(err, ConfigError::SkipGram(_)), "{err}");
    }

    #[test]
    fn head_params_error_is_wrapped() {
        let err = spec("[head]\nmax_iter = 0\n").unwrap_err();
        assert!(matches!(err, ConfigError::Head(_)), "{err}");
    }

    #[test]
    fn pca_above_feature_count_is_rejected() {
        let err = spec("[tokenizer]\npca_components = 21\n").unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::PcaExceedsFeatures {
                    components: 21,
                    features: 20
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn nonpositive_window_is_rejected() {
        let err = spec("[windows]\nlength_s = 0.0\n").unwrap_err();
        assert!(matches!(err, ConfigError::InvalidWindowLength(_)), "{err}");
    }

    #[test]
    fn window_shorter_than_hop_is_rejected() {
        let err = spec("[windows]\nlength_s = 0.1\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::WindowShorterThanHop { .. }),
            "{err}"
        );
    }

    #[test]
    fn softmax_with_secondary_labels_is_rejected() {
        let err =
            spec("[data]\nsecondary_labels = true\n[head]\nkind = \"softmax\"\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::SoftmaxWithSecondaryLabels),
            "{err}"
        );
    }

    #[test]
    fn secondary_weight_outside_unit_interval_is_rejected() {
        for bad in ["0.0", "1.5", "nan"] {
            let err = spec(&format!("[data]\nsecondary_label_weight = {bad}\n")).unwrap_err();
            assert!(
                matches!(err, ConfigError::SecondaryWeightOutOfRange(_)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn zero_threads_is_rejected() {
        let err = spec("[run]\nn_threads = 0\n").unwrap_err();
        assert!(matches!(err, ConfigError::ZeroThreads), "{err}");
    }

    #[test]
    fn nonpositive_chunk_is_rejected() {
        let err = spec("[run]\nchunk_seconds = -1.0\n").unwrap_err();
        assert!(matches!(err, ConfigError::InvalidChunkSeconds(_)), "{err}");
    }

    #[test]
    fn tokenizer_budget_below_k_is_rejected() {
        let err = spec("[run]\ntokenizer_sample_mib = 0\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::TokenizerFramesBelowK { .. }),
            "{err}"
        );
    }

    #[test]
    fn codebook_larger_than_data_is_rejected() {
        let err = ConfigSpec::new(Preset::PaperV1).resolve(5_000).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::CodebookLargerThanData {
                    k: 16_383,
                    frames: 5_000
                }
            ),
            "{err}"
        );
    }
}
