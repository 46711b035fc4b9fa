//! A mask and its two halves along i: a structure set's whole GTV and two lesions of its own,
//! for the multi-ROI tests and `examples/write_sample` (which includes this file by path).

use mtsa_io::Volume;

/// ("GTV_mtsa", the mask), then ("GTV_mtsa_1", its voxels with i < mid) and ("GTV_mtsa_2", the
/// rest), mid being half the first axis.
pub fn whole_and_halves(mask: &Volume<u8>) -> [(&'static str, Volume<u8>); 3] {
    let mid = mask.shape()[0] / 2;
    let half = |lower: bool| {
        let mut m = mask.clone();
        for ((i, _, _), v) in m.data.indexed_iter_mut() {
            if (i < mid) != lower {
                *v = 0;
            }
        }
        m
    };
    [
        ("GTV_mtsa", mask.clone()),
        ("GTV_mtsa_1", half(true)),
        ("GTV_mtsa_2", half(false)),
    ]
}
