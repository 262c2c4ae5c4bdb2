//! Exact nearest-centroid assignment, the hot loop of both training and inference.
//!
//! For a block of points `X` the squared distance to centroid `c` is `|x|^2 - 2 x.c + |c|^2`.
//! The kernel computes `-2 X C^T` for a tile of centroids with faer's matrix product, adds
//! `|c|^2`, and keeps the row-wise minimum; `|x|^2` is added at the end because it does not
//! change the argmin. Blocks of rows run in parallel on rayon; each block's product runs on one
//! thread, so the result does not depend on the thread count. Among equal distances the lowest
//! centroid index wins.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Rows per parallel task and per matrix product.
pub(crate) const ROW_BLOCK: usize = 256;

/// Centroids per matrix product. The `ROW_BLOCK x CENTROID_TILE` product is 1 MiB of scratch
/// per thread. NOTE: both sizes are first guesses; other sizes were not measured.
pub(crate) const CENTROID_TILE: usize = 1024;

/// Centroids in row-major layout with their squared norms, ready for [`assign_rows`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct CentroidsRef<'a> {
    /// `k x dim`, row-major.
    pub data: &'a [f32],
    /// `|c|^2` of each centroid.
    pub sq_norms: &'a [f32],
    /// Features per centroid.
    pub dim: usize,
}

impl CentroidsRef<'_> {
    pub(crate) fn k(&self) -> usize {
        self.sq_norms.len()
    }
}

/// Squared L2 norm of each `dim`-long row of `data`.
pub(crate) fn row_sq_norms(data: &[f32], dim: usize) -> Vec<f32> {
    data.chunks_exact(dim)
        .map(|row| row.iter().map(|v| v * v).sum())
        .collect()
}

/// Assigns each `dim`-long row of `points` to its nearest centroid, writing the centroid index
/// to `labels` and, when given, the squared distance (clamped at 0) to `distances`.
///
/// Runs on the current rayon pool.
pub(crate) fn assign_rows(
    points: &[f32],
    centroids: CentroidsRef<'_>,
    labels: &mut [u32],
    distances: Option<&mut [f32]>,
) {
    let dim = centroids.dim;
    debug_assert_eq!(points.len(), labels.len() * dim);
    let n = labels.len();
    if n == 0 {
        return;
    }
    let mut scratch = vec![0f32; n];
    let dist_out: &mut [f32] = match distances {
        Some(d) => d,
        None => &mut scratch,
    };
    points
        .par_chunks(ROW_BLOCK * dim)
        .zip(labels.par_chunks_mut(ROW_BLOCK))
        .zip(dist_out.par_chunks_mut(ROW_BLOCK))
        .for_each_init(
            || vec![0f32; ROW_BLOCK * CENTROID_TILE.min(centroids.k())],
            |products, ((block, block_labels), block_dists)| {
                assign_block(block, centroids, products, block_labels, block_dists);
            },
        );
}

/// Assigns one block of at most [`ROW_BLOCK`] rows; `products` is scratch space.
fn assign_block(
    block: &[f32],
    centroids: CentroidsRef<'_>,
    products: &mut [f32],
    labels: &mut [u32],
    distances: &mut [f32],
) {
    let dim = centroids.dim;
    let rows = labels.len();
    let k = centroids.k();
    let x = MatRef::from_row_major_slice(block, rows, dim);
    distances.fill(f32::INFINITY);
    labels.fill(0);

    let mut start = 0;
    while start < k {
        let tile = CENTROID_TILE.min(k - start);
        let c_t = MatRef::from_column_major_slice(
            &centroids.data[start * dim..(start + tile) * dim],
            dim,
            tile,
        );
        let out = &mut products[..rows * tile];
        matmul(
            MatMut::from_row_major_slice_mut(out, rows, tile),
            Accum::Replace,
            x,
            c_t,
            -2.0f32,
            Par::Seq,
        );
        let norms = &centroids.sq_norms[start..start + tile];
        for (r, row) in out.chunks_exact_mut(tile).enumerate() {
            let (best, at) = row_min(row, norms);
            // Strict comparison keeps the earlier tile on ties, so the lowest index wins.
            if best < distances[r] {
                distances[r] = best;
                labels[r] = (start + at) as u32;
            }
        }
        start += tile;
    }

    for (r, d) in distances.iter_mut().enumerate() {
        let x_row = &block[r * dim..(r + 1) * dim];
        let x_sq: f32 = x_row.iter().map(|v| v * v).sum();
        *d = (*d + x_sq).max(0.0);
    }
}

/// Adds `norms` to `row` in place and returns the minimum and the first index holding it.
fn row_min(row: &mut [f32], norms: &[f32]) -> (f32, usize) {
    let mut min = f32::INFINITY;
    for (v, n) in row.iter_mut().zip(norms) {
        *v += n;
        // This form (not f32::min) lets the compiler vectorise the loop.
        min = if *v < min { *v } else { min };
    }
    let at = row.iter().position(|&v| v == min).unwrap_or(0);
    (min, at)
}

/// Brute-force reference: exact nearest centroid by direct differences, in `f64`.
#[cfg(test)]
pub(crate) fn assign_brute_force(points: &[f32], centroids: &[f32], dim: usize) -> Vec<(u32, f64)> {
    points
        .chunks_exact(dim)
        .map(|x| {
            let mut best = (0u32, f64::INFINITY);
            for (j, c) in centroids.chunks_exact(dim).enumerate() {
                let d: f64 = x
                    .iter()
                    .zip(c)
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum();
                if d < best.1 {
                    best = (j as u32, d);
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;

    fn assign(points: &[f32], centroids: &[f32], dim: usize) -> (Vec<u32>, Vec<f32>) {
        let norms = row_sq_norms(centroids, dim);
        let c = CentroidsRef {
            data: centroids,
            sq_norms: &norms,
            dim,
        };
        let n = points.len() / dim;
        let mut labels = vec![0; n];
        let mut dists = vec![0.0; n];
        assign_rows(points, c, &mut labels, Some(&mut dists));
        (labels, dists)
    }

    /// Small integers make every product exact in f32, so ties are real ties.
    fn integer_data(rng: &mut Xoshiro256PlusPlus, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| rng.random_range(-3i32..=3) as f32)
            .collect()
    }

    #[test]
    fn integer_data_equals_brute_force_exactly() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        // k spans several centroid tiles and n several row blocks.
        for (n, k, dim) in [(1000, 2500, 3), (700, 37, 5), (1, 1, 1), (300, 1025, 8)] {
            let points = integer_data(&mut rng, n * dim);
            let centroids = integer_data(&mut rng, k * dim);
            let (labels, dists) = assign(&points, &centroids, dim);
            let expected = assign_brute_force(&points, &centroids, dim);
            for (i, (&(want, want_d), (&got, &got_d))) in
                expected.iter().zip(labels.iter().zip(&dists)).enumerate()
            {
                assert_eq!(got, want, "row {i} of n {n}, k {k}, dim {dim}");
                assert_eq!(f64::from(got_d), want_d, "distance of row {i}");
            }
        }
    }

    #[test]
    fn duplicate_centroids_pick_lowest_index() {
        let dim = 4;
        let mut centroids = vec![9.0f32; 3000 * dim];
        // The same centroid at 5, 1500 (another tile) and 2999.
        for j in [5usize, 1500, 2999] {
            centroids[j * dim..(j + 1) * dim].copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        }
        let points = vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.5];
        let (labels, dists) = assign(&points, &centroids, dim);
        assert_eq!(labels, vec![5, 5]);
        assert_eq!(dists[0], 0.0);
        assert_eq!(dists[1], 0.25);
    }

    #[test]
    fn gaussian_data_matches_brute_force() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let (n, k, dim) = (2000, 1500, 24);
        let normal = |rng: &mut Xoshiro256PlusPlus| -> f32 {
            // Sum of uniforms: close enough to Gaussian for this test.
            (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0
        };
        let points: Vec<f32> = (0..n * dim).map(|_| normal(&mut rng)).collect();
        let centroids: Vec<f32> = (0..k * dim).map(|_| normal(&mut rng)).collect();
        let (labels, dists) = assign(&points, &centroids, dim);
        let expected = assign_brute_force(&points, &centroids, dim);
        let mut differing = 0;
        for (i, (&(want, want_d), (&got, &got_d))) in
            expected.iter().zip(labels.iter().zip(&dists)).enumerate()
        {
            assert!(
                (f64::from(got_d) - want_d).abs() <= 1e-4 * want_d.max(1.0),
                "row {i}: distance {got_d} vs exact {want_d}"
            );
            if got != want {
                // Only a near tie within f32 rounding may differ.
                let exact_got: f64 = points[i * dim..(i + 1) * dim]
                    .iter()
                    .zip(&centroids[got as usize * dim..(got as usize + 1) * dim])
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum();
                assert!(
                    exact_got - want_d <= 1e-5 * want_d.max(1.0),
                    "row {i}: picked {got} at {exact_got}, nearest is {want} at {want_d}"
                );
                differing += 1;
            }
        }
        assert!(
            differing <= 2,
            "{differing} of {n} rows differ from brute force"
        );
    }
}
