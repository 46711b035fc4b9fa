//! Which [`Layout`] a prepared net runs in, chosen by measurement as cuDNN's benchmark mode
//! does: which layout is faster depends on the CPU (oneDNN's channels-last depth-wise kernels
//! win on AVX-512 and can lose on AVX2), the thread count, the preset and the batch, so at load
//! a few forwards of the input size at hand are timed in each layout and the faster one kept.
//! The choice is cached per machine and model (see [`LayoutKey`]) so later loads skip the
//! timing; `--layout nchw|nhwc` bypasses both.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::config::MtsaConfig;
use crate::error::ModelError;
use crate::layers::Layout;
use crate::layers::{Precision, PrepareOptions};
use crate::net::MtsaNet;

/// What the user asked for (`--layout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayoutChoice {
    /// Measure (or read the cached measurement).
    #[default]
    Auto,
    Fixed(Layout),
}

impl FromStr for LayoutChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(LayoutChoice::Auto),
            other => other
                .parse::<Layout>()
                .map(LayoutChoice::Fixed)
                .map_err(|_| format!("layout {s:?}: expected auto, nchw or nhwc")),
        }
    }
}

impl std::fmt::Display for LayoutChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutChoice::Auto => f.write_str("auto"),
            LayoutChoice::Fixed(l) => l.fmt(f),
        }
    }
}

/// Forwards timed per layout (after one untimed warm-up each), interleaved so that a change in
/// machine load hits both layouts alike.
pub const TIMED_FORWARDS: usize = 3;

/// Median seconds per forward of each layout, as measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutTimings {
    pub nchw_s: f64,
    pub nhwc_s: f64,
}

impl LayoutTimings {
    /// The faster layout; NCHW on a tie or when a timing is not a number (the plain layout
    /// needs no conversion of the input).
    pub fn faster(&self) -> Layout {
        if self.nhwc_s < self.nchw_s {
            Layout::Nhwc
        } else {
            Layout::Nchw
        }
    }

    /// Seconds per forward in the faster layout.
    pub fn fastest_s(&self) -> f64 {
        self.nchw_s.min(self.nhwc_s)
    }

    /// From the raw per-forward times of each layout (medians; empty lists give NaN).
    pub fn from_samples(nchw: &[f64], nhwc: &[f64]) -> Self {
        Self {
            nchw_s: median(nchw),
            nhwc_s: median(nhwc),
        }
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// What a layout is measured for: the forwards of inference or the steps of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Inference,
    Training,
}

/// What a measured choice depends on: the machine (CPU model and libtorch thread count), the
/// device, the model's configuration, the workload and the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutKey(String);

impl LayoutKey {
    pub fn new(cfg: &MtsaConfig, workload: Workload, device: Device, batch: i64) -> Self {
        Self::of(
            &machine(),
            tch::get_num_threads(),
            cfg,
            workload,
            device,
            batch,
        )
    }

    fn of(
        cpu: &str,
        threads: i32,
        cfg: &MtsaConfig,
        workload: Workload,
        device: Device,
        batch: i64,
    ) -> Self {
        let json = serde_json::to_vec(cfg).unwrap_or_default();
        let hash = Sha256::digest(&json);
        let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        // Inference keys keep their earlier form, so existing caches stay valid.
        let purpose = match workload {
            Workload::Inference => "",
            Workload::Training => " | training",
        };
        Self(format!(
            "{cpu} | {threads} threads | {device:?} | {} {short} | batch {batch}{purpose}",
            cfg.preset
        ))
    }

    /// The key of the same measurement at `precision` (f32 keys keep their earlier form).
    pub fn at(self, precision: Precision) -> Self {
        match precision {
            Precision::F32 => self,
            other => Self(format!("{} | {other}", self.0)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The CPU and the instruction set libtorch may use on it: capping it (oneDNN's and ATen's
/// variables, e.g. AVX2 on an AVX-512 CPU) changes which layout is faster, so it is part of the
/// machine.
fn machine() -> String {
    let mut cpu = cpu_model();
    for var in ["ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"] {
        if let Ok(v) = std::env::var(var) {
            cpu.push_str(&format!(" [{var}={v}]"));
        }
    }
    cpu
}

/// The CPU as /proc/cpuinfo describes it ("unknown CPU" where there is none): see
/// [`describe_cpu`].
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| describe_cpu(&s))
        .unwrap_or_else(|_| "unknown CPU".into())
}

/// The first processor's model name, family, model and stepping, and its widest vector
/// instructions. Why more than the name: virtual machines often report a bare "AMD EPYC" for
/// quite different chips (an AVX2-only family 25 and an AVX-512 family 26 among ours), and the
/// faster layout differs between them, so a cache in a home folder shared by both must tell
/// them apart.
fn describe_cpu(cpuinfo: &str) -> String {
    let first = cpuinfo.split("\n\n").next().unwrap_or_default();
    let field = |name: &str| {
        first.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let Some(name) = field("model name") else {
        return "unknown CPU".into();
    };
    let flags = field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let isa = ["avx512f", "avx2", "avx", "sse4_2"]
        .into_iter()
        .find(|f| has(f))
        .unwrap_or("no AVX");
    let number = |n: &str| field(n).unwrap_or_else(|| "?".into());
    format!(
        "{name} (family {} model {} stepping {}, {isa})",
        number("cpu family"),
        number("model"),
        number("stepping")
    )
}

/// One cached measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedLayout {
    pub layout: Layout,
    #[serde(flatten)]
    pub timings: LayoutTimings,
}

/// The measured choices of one machine user, keyed by [`LayoutKey`]: a small JSON file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LayoutCache {
    entries: BTreeMap<String, CachedLayout>,
}

impl LayoutCache {
    /// `$XDG_CACHE_HOME/mtsa/layouts.json`, else `$HOME/.cache/mtsa/layouts.json`; `None`
    /// without either variable (the choice is then measured at every load).
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })?;
        Some(base.join("mtsa").join("layouts.json"))
    }

    /// The cache at `path`; a missing or unreadable file is an empty cache (it only saves time).
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn get(&self, key: &LayoutKey) -> Option<&CachedLayout> {
        self.entries.get(key.as_str())
    }

    pub fn insert(&mut self, key: &LayoutKey, entry: CachedLayout) {
        self.entries.insert(key.0.clone(), entry);
    }

    /// Writes the whole cache atomically (`mtsa_io::write_atomic`), so a concurrent load never
    /// reads half a file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| ModelError::InvalidConfig(format!("layout cache: {e}")))?;
        mtsa_io::write_atomic(path, |tmp| {
            std::fs::write(tmp, &json).map_err(|e| mtsa_io::IoError::io(tmp, e))
        })
        .map_err(ModelError::from)
    }
}

/// How the layout of a loaded net was decided.
#[derive(Clone, Debug, PartialEq)]
pub enum LayoutSource {
    /// `--layout nchw|nhwc`.
    Requested,
    /// The network runs in one layout only (the comparison systems: NCHW as trained).
    Only,
    /// Read from the cache.
    Cached(LayoutTimings),
    /// Timed at this load.
    Measured(LayoutTimings),
}

impl LayoutSource {
    /// The timings the choice was made on, where it was measured (now or earlier).
    pub fn timings(&self) -> Option<&LayoutTimings> {
        match self {
            LayoutSource::Cached(t) | LayoutSource::Measured(t) => Some(t),
            LayoutSource::Requested | LayoutSource::Only => None,
        }
    }
}

impl std::fmt::Display for LayoutSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let timed = |f: &mut std::fmt::Formatter<'_>, how: &str, t: &LayoutTimings| {
            write!(
                f,
                "{how}: NCHW {:.4} s, NHWC {:.4} s (medians)",
                t.nchw_s, t.nhwc_s
            )
        };
        match self {
            LayoutSource::Requested => f.write_str("requested"),
            LayoutSource::Only => f.write_str("the network's only layout"),
            LayoutSource::Cached(t) => timed(f, "cached", t),
            LayoutSource::Measured(t) => timed(f, "measured", t),
        }
    }
}

/// Times `TIMED_FORWARDS` eval forwards of a random `batch` at the net's input size in each
/// layout at `precision`, interleaved, and returns the medians. Leaves the net prepared in the
/// last layout timed; the caller prepares it in the chosen one.
pub fn measure_layouts(
    net: &mut MtsaNet,
    precision: Precision,
    device: Device,
    batch: i64,
) -> LayoutTimings {
    let cfg = net.config();
    let x = Tensor::rand(
        [batch.max(1), cfg.in_channels, cfg.size, cfg.size],
        (Kind::Float, device),
    );
    let _guard = tch::no_grad_guard();
    time_layouts(TIMED_FORWARDS, |_, layout| {
        net.prepare_for_inference(PrepareOptions { layout, precision });
        let t = Instant::now();
        let out = net.forward_t(&x, false);
        let elapsed = seconds_since(t, device);
        drop(out);
        elapsed
    })
}

/// Runs `run(i, layout)` for NCHW (i = 0) and NHWC (i = 1) in turn, one untimed warm-up round
/// (oneDNN primitive creation, first-touch allocations) and then `timed` rounds, interleaved so
/// that a change in machine load hits both layouts alike. `run` returns the seconds its timed
/// part took; the result holds the medians.
pub(crate) fn time_layouts(
    timed: usize,
    mut run: impl FnMut(usize, Layout) -> f64,
) -> LayoutTimings {
    let mut samples: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..=timed {
        for (i, layout) in [Layout::Nchw, Layout::Nhwc].into_iter().enumerate() {
            let elapsed = run(i, layout);
            if round > 0 {
                samples[i].push(elapsed);
            }
        }
    }
    LayoutTimings::from_samples(&samples[0], &samples[1])
}

/// Seconds since `t`, after waiting for `device`'s queued work.
pub(crate) fn seconds_since(t: Instant, device: Device) -> f64 {
    crate::device::synchronize(device);
    t.elapsed().as_secs_f64()
}

/// Prepares `net` for inference at `precision` in the layout `choice` names, or, for `Auto`,
/// the one cached for this machine, model and precision at `cache` or else measured now (see
/// [`choose_layout`]). For `Auto` at a precision other than f32, f32 is timed (or read from the
/// cache) too, and the log warns when the asked precision is no faster: a CPU without native
/// bf16 instructions emulates them, some 20 times slower than f32 (oneDNN and ATen capped at
/// AVX2 on an Intel Xeon), and bf16 only ever buys speed.
pub fn prepare_with_layout(
    net: &mut MtsaNet,
    choice: LayoutChoice,
    precision: Precision,
    device: Device,
    batch: i64,
    cache: Option<&Path>,
) -> (Layout, LayoutSource) {
    let choose = |net: &mut MtsaNet, precision: Precision| {
        let key = LayoutKey::new(net.config(), Workload::Inference, device, batch).at(precision);
        let Ok(chosen) = choose_layout(choice, &key, cache, || {
            Ok::<_, std::convert::Infallible>(measure_layouts(net, precision, device, batch))
        });
        chosen
    };
    let f32_source = (precision != Precision::F32 && choice == LayoutChoice::Auto)
        .then(|| choose(net, Precision::F32).1);
    let (layout, source) = choose(net, precision);
    if let Some(warning) = f32_source
        .as_ref()
        .and_then(|f32_source| no_faster_than_f32(precision, device, f32_source, &source))
    {
        tracing::warn!("{warning}");
    }
    net.prepare_for_inference(PrepareOptions { layout, precision });
    (layout, source)
}

/// The warning for a precision chosen for speed that measured no faster than f32, if it did.
fn no_faster_than_f32(
    precision: Precision,
    device: Device,
    f32_source: &LayoutSource,
    source: &LayoutSource,
) -> Option<String> {
    let (f32_s, s) = (
        f32_source.timings()?.fastest_s(),
        source.timings()?.fastest_s(),
    );
    (s >= f32_s).then(|| {
        // Named only when warned about: describing the CPU reads /proc/cpuinfo.
        let on = match device {
            Device::Cpu => machine(),
            other => format!("{other:?}"),
        };
        format!(
            "--precision {precision} runs no faster than f32 on {on} ({s:.4} s against {f32_s:.4} \
             s per forward), so it gives up agreement with f32 for nothing here (a CPU without \
             native {precision} instructions emulates them); use --precision f32"
        )
    })
}

/// The layout `choice` names, or, for `Auto`, the one cached under `key` at `cache` or else
/// the faster of what `measure` times now (then cached; a cache that cannot be written is
/// reported in the log and otherwise ignored).
pub fn choose_layout<E>(
    choice: LayoutChoice,
    key: &LayoutKey,
    cache: Option<&Path>,
    measure: impl FnOnce() -> Result<LayoutTimings, E>,
) -> Result<(Layout, LayoutSource), E> {
    let LayoutChoice::Fixed(layout) = choice else {
        let mut stored = cache.map(LayoutCache::load).unwrap_or_default();
        if let Some(hit) = stored.get(key) {
            return Ok((hit.layout, LayoutSource::Cached(hit.timings.clone())));
        }
        let timings = measure()?;
        let layout = timings.faster();
        if let Some(path) = cache {
            stored.insert(
                key,
                CachedLayout {
                    layout,
                    timings: timings.clone(),
                },
            );
            if let Err(e) = stored.save(path) {
                tracing::warn!("layout choice not cached: {e}");
            }
        }
        return Ok((layout, LayoutSource::Measured(timings)));
    };
    Ok((layout, LayoutSource::Requested))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MtsaConfig, NET_PREFIX};
    use tch::nn::VarStore;

    #[test]
    fn the_faster_layout_wins_and_ties_stay_nchw() {
        let t = LayoutTimings::from_samples(&[0.30, 0.10, 0.20], &[0.15, 0.16, 0.90]);
        assert_eq!((t.nchw_s, t.nhwc_s), (0.20, 0.16));
        assert_eq!(t.faster(), Layout::Nhwc);
        let t = LayoutTimings::from_samples(&[0.1, 0.2], &[0.3, 0.4]);
        assert_eq!(t.faster(), Layout::Nchw);
        assert_eq!(
            LayoutTimings::from_samples(&[0.1], &[0.1]).faster(),
            Layout::Nchw
        );
        assert_eq!(
            LayoutTimings::from_samples(&[], &[0.1]).faster(),
            Layout::Nchw
        );
    }

    #[test]
    fn choices_parse_and_print() {
        for s in ["auto", "nchw", "nhwc"] {
            assert_eq!(s.parse::<LayoutChoice>().unwrap().to_string(), s);
        }
        assert!("NHWC".parse::<LayoutChoice>().is_err());
    }

    fn tiny_net() -> (VarStore, MtsaNet) {
        let vs = VarStore::new(Device::Cpu);
        let cfg = MtsaConfig::preset("tiny").unwrap();
        let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
        (vs, net)
    }

    #[test]
    fn cpus_with_one_name_are_told_apart_by_family_and_instructions() {
        let info = |family: u32, flags: &str| {
            format!(
                "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: 1\n\
                 model name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: fpu sse4_2 {flags}\n\n\
                 processor\t: 1\nmodel name\t: other\n"
            )
        };
        assert_eq!(
            describe_cpu(&info(25, "avx avx2")),
            "AMD EPYC (family 25 model 1 stepping 1, avx2)"
        );
        assert_eq!(
            describe_cpu(&info(26, "avx avx2 avx512f avx512_bf16")),
            "AMD EPYC (family 26 model 1 stepping 1, avx512f)"
        );
        assert_eq!(describe_cpu(""), "unknown CPU");
    }

    #[test]
    fn keys_tell_machines_models_and_batches_apart() {
        let (_vs, net) = tiny_net();
        let (_vs3, net3) = {
            let vs = VarStore::new(Device::Cpu);
            let mut cfg = MtsaConfig::preset("tiny").unwrap();
            cfg.in_channels = 3;
            let net = MtsaNet::new(&(vs.root() / NET_PREFIX), &cfg).unwrap();
            (vs, net)
        };
        let k = |cpu, threads, net: &MtsaNet, batch| {
            LayoutKey::of(
                cpu,
                threads,
                net.config(),
                Workload::Inference,
                Device::Cpu,
                batch,
            )
        };
        let base = k("EPYC", 2, &net, 8);
        assert_eq!(base, k("EPYC", 2, &net, 8));
        assert_ne!(base, k("Xeon", 2, &net, 8));
        assert_ne!(base, k("EPYC", 4, &net, 8));
        assert_ne!(base, k("EPYC", 2, &net3, 8));
        assert_ne!(base, k("EPYC", 2, &net, 1));
        let training = LayoutKey::of("EPYC", 2, net.config(), Workload::Training, Device::Cpu, 8);
        assert_ne!(base, training);
    }

    /// A cache at `path` holding only `timings` (and the layout they choose) under `key`.
    fn save_one_entry(path: &Path, key: &LayoutKey, timings: &LayoutTimings) {
        let mut cache = LayoutCache::default();
        cache.insert(
            key,
            CachedLayout {
                layout: timings.faster(),
                timings: timings.clone(),
            },
        );
        cache.save(path).unwrap();
    }

    #[test]
    fn a_cached_choice_is_used_without_measuring() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("layouts.json");
        let (_vs, mut net) = tiny_net();
        let key = LayoutKey::new(net.config(), Workload::Inference, Device::Cpu, 2);
        // Injected timings no real run would produce, so a measurement would be visible.
        let injected = LayoutTimings {
            nchw_s: 9.0,
            nhwc_s: 1.0,
        };
        save_one_entry(&path, &key, &injected);
        let (layout, source) = prepare_with_layout(
            &mut net,
            LayoutChoice::Auto,
            Precision::F32,
            Device::Cpu,
            2,
            Some(&path),
        );
        assert_eq!(layout, Layout::Nhwc);
        assert_eq!(source, LayoutSource::Cached(injected));
        assert_eq!(net.prepared_layout(), Some(Layout::Nhwc));
    }

    #[test]
    fn a_measured_choice_is_cached_and_a_fixed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layouts.json");
        let (_vs, mut net) = tiny_net();
        let (fixed, source) = prepare_with_layout(
            &mut net,
            LayoutChoice::Fixed(Layout::Nchw),
            Precision::F32,
            Device::Cpu,
            1,
            Some(&path),
        );
        assert_eq!((fixed, source), (Layout::Nchw, LayoutSource::Requested));
        assert!(!path.exists());
        let (layout, source) = prepare_with_layout(
            &mut net,
            LayoutChoice::Auto,
            Precision::F32,
            Device::Cpu,
            1,
            Some(&path),
        );
        let LayoutSource::Measured(t) = source else {
            panic!("expected a measurement, got {source:?}");
        };
        assert_eq!(layout, t.faster());
        assert_eq!(net.prepared_layout(), Some(layout));
        let key = LayoutKey::new(net.config(), Workload::Inference, Device::Cpu, 1);
        let cached = LayoutCache::load(&path);
        assert_eq!(cached.get(&key).map(|c| c.layout), Some(layout));
    }

    #[test]
    fn bf16_no_faster_than_f32_is_warned_about() {
        let t = |nchw_s, nhwc_s| LayoutSource::Cached(LayoutTimings { nchw_s, nhwc_s });
        let (fast, slow) = (t(0.20, 0.07), t(2.1, 1.6));
        let warn = |f32_source, source| {
            no_faster_than_f32(Precision::Bf16, Device::Cpu, f32_source, source)
        };
        let warning = warn(&fast, &slow).unwrap();
        assert!(warning.contains("1.6000 s against 0.0700 s"), "{warning}");
        assert!(warn(&slow, &fast).is_none());
        assert!(warn(&fast, &LayoutSource::Requested).is_none());
    }

    #[test]
    fn a_bf16_choice_times_f32_too_and_keeps_its_own_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layouts.json");
        let (_vs, mut net) = tiny_net();
        let key = LayoutKey::new(net.config(), Workload::Inference, Device::Cpu, 1);
        let bf16 = LayoutTimings {
            nchw_s: 1.0,
            nhwc_s: 9.0,
        };
        save_one_entry(&path, &key.clone().at(Precision::Bf16), &bf16);
        let (layout, source) = prepare_with_layout(
            &mut net,
            LayoutChoice::Auto,
            Precision::Bf16,
            Device::Cpu,
            1,
            Some(&path),
        );
        assert_eq!((layout, source), (Layout::Nchw, LayoutSource::Cached(bf16)));
        assert_eq!(net.prepared_precision(), Some(Precision::Bf16));
        // f32 was measured beside it and cached under its own key.
        assert!(LayoutCache::load(&path).get(&key).is_some());
    }

    #[test]
    fn an_unreadable_cache_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layouts.json");
        std::fs::write(&path, "not json").unwrap();
        let (_vs, net) = tiny_net();
        let key = LayoutKey::new(net.config(), Workload::Inference, Device::Cpu, 1);
        assert!(LayoutCache::load(&path).get(&key).is_none());
    }
}
