//! One synthetic patient: the plan (phenotype, EGFR label, pose, lesion placement, each lesion's
//! GTV voxel count, clinical row), which is cheap and is all `truth_only` needs, and the
//! rendering of that plan into volumes.

use crate::clinical::ClinicalRow;
use crate::egfr::{draw_label, draw_phenotypes, LesionPhenotype, Phenotype};
use crate::field::fibonacci_sphere;
use crate::grid::Grid;
use crate::lesion::Lesion;
use crate::render::{render, Vessels};
use crate::rng::{patient_rng, Purpose};
use crate::site::SiteProfile;
use crate::template::Template;
use crate::transform::Similarity;
use crate::truth::PatientTruth;
use mtsa_io::Volume;
use rand::Rng;

/// Share of lesions seeded at the grey-white junction, where haematogenous metastases lodge.
const P_JUNCTION: f64 = 0.7;
/// Minimum gap between lesion surfaces (mm), spec: centres at least r1 + r2 + 3 mm apart.
const MIN_GAP_MM: f64 = 3.0;
/// Placement tries; after each third the requirement that the lesion lie inside the brain is
/// relaxed (from 75% of its extent, to 40%, to only its centre), so that large lesions always
/// find a place.
const TRIES: usize = 1200;

/// Everything about a patient except the voxels.
#[derive(Debug, Clone)]
pub struct PatientPlan {
    pub truth: PatientTruth,
    pub clinical: ClinicalRow,
    lesions: Vec<Lesion>,
}

/// A rendered patient: T1-CE image and GTV mask on the same grid, plus its records.
#[derive(Debug, Clone)]
pub struct SyntheticPatient {
    pub id: String,
    pub site: String,
    pub image: Volume<f32>,
    pub mask: Volume<u8>,
    pub clinical: ClinicalRow,
    pub truth: PatientTruth,
}

/// Plans patient `index` (0-based within its site). Depends only on (seed, site, index).
pub fn plan_patient(
    template: &Template,
    site: &SiteProfile,
    index: usize,
    seed: u64,
) -> PatientPlan {
    let id = site.patient_id(index);
    let stream = |purpose| patient_rng(seed, &site.name, index, purpose);

    let mut rng = stream(Purpose::Phenotype);
    let phenotypes = draw_phenotypes(&mut rng);
    let phenotype = Phenotype::of(&phenotypes);
    let p_mutant = phenotype.p_mutant();
    let egfr = draw_label(p_mutant, &mut rng);

    let transform = Similarity::draw(&mut stream(Purpose::Anatomy), template.centre());
    let mut lesions = place_lesions(
        template,
        &transform,
        &phenotypes,
        &mut stream(Purpose::Lesions),
    );
    let grid = Grid::new(template, &transform, site.spacing(), &lesions);
    let counts = grid.gtv_counts(template, &lesions);
    for (l, n) in lesions.iter_mut().zip(counts) {
        l.truth.gtv_voxels = n;
    }
    let clinical = ClinicalRow::draw(&mut stream(Purpose::Clinical), site, id.clone(), egfr);
    PatientPlan {
        truth: PatientTruth {
            id,
            site: site.name.clone(),
            external: site.external,
            egfr,
            p_mutant,
            phenotype,
            lesions: lesions.iter().map(|l| l.truth.clone()).collect(),
            transform,
        },
        clinical,
        lesions,
    }
}

/// Plans and renders patient `index` of `site`; a DICOM writer can reuse this directly.
pub fn generate_patient(
    template: &Template,
    site: &SiteProfile,
    index: usize,
    seed: u64,
) -> SyntheticPatient {
    let plan = plan_patient(template, site, index, seed);
    let grid = Grid::new(
        template,
        &plan.truth.transform,
        site.spacing(),
        &plan.lesions,
    );
    let vessels = Vessels::draw(&mut patient_rng(seed, &site.name, index, Purpose::Vessels));
    let mut rng = patient_rng(seed, &site.name, index, Purpose::Acquisition);
    let (image, mask) = render(template, site, &grid, &plan.lesions, &vessels, &mut rng);
    SyntheticPatient {
        id: plan.truth.id.clone(),
        site: site.name.clone(),
        image,
        mask,
        clinical: plan.clinical,
        truth: plan.truth,
    }
}

/// Centres inside the brain (GM + WM > 0.5), favouring the grey-white junction, far enough from
/// each other that lesions never touch, and (while possible) with the lesion inside the brain.
fn place_lesions(
    template: &Template,
    transform: &Similarity,
    phenotypes: &[LesionPhenotype],
    rng: &mut impl Rng,
) -> Vec<Lesion> {
    let directions = fibonacci_sphere(26);
    let deep = template.deep_candidates();
    let junction = template.junction_candidates();
    let mut placed: Vec<Lesion> = Vec::with_capacity(phenotypes.len());
    for ph in phenotypes {
        let lesion = Lesion::draw(rng, *ph);
        let extent = lesion.extent_mm();
        let mut spot = ([0.0; 3], false);
        for attempt in 0..TRIES {
            let at_junction = !junction.is_empty() && rng.random_bool(P_JUNCTION);
            let pool = if at_junction { junction } else { deep };
            let idx = pool[rng.random_range(0..pool.len())];
            let cw = template.candidate_world(idx);
            let q: [f64; 3] = std::array::from_fn(|d| cw[d] + rng.random_range(-0.5..0.5));
            let c = transform.forward(q);
            spot = (c, at_junction);
            let apart = placed.iter().all(|o| {
                let oc = o.truth.centre_mm;
                let dist = (0..3).map(|d| (c[d] - oc[d]).powi(2)).sum::<f64>().sqrt();
                dist >= extent + o.extent_mm() + MIN_GAP_MM
            });
            if !apart {
                continue;
            }
            let inside_share = [0.75, 0.4, 0.0][attempt * 3 / TRIES];
            let reach = inside_share * extent / transform.scale;
            let inside = reach == 0.0
                || directions.iter().all(|u| {
                    let p: [f64; 3] = std::array::from_fn(|d| q[d] + u[d] * reach);
                    template.sample(p).brain >= 0.5
                });
            if inside {
                break;
            }
        }
        placed.push(lesion.placed_at(spot.0, spot.1));
    }
    placed
}
