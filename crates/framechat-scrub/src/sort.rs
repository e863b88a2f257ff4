//! [`sort_by_key`]: an in-place heapsort, for the few lists the scrubber orders (extents,
//! patches, sample spans). The standard library's sorts are faster on large inputs but each
//! use of them adds several kilobytes to the client's download; these lists are short, or
//! sorted once per file, and O(n log n) holds either way.

/// Sorts `v` by `key`, ascending (not stable: equal keys may come in any order).
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let less = |v: &[T], a: usize, b: usize| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => key(x) < key(y),
        _ => false,
    };
    // Sift the element at `root` down the heap of the first `end` elements.
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let left = 2 * root + 1;
        if left >= end {
            break;
        }
        let child = if left + 1 < end && less(v, left, left + 1) {
            left + 1
        } else {
            left
        };
        if !less(v, root, child) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_like_the_standard_library(mut v in proptest::collection::vec((0u16..50, any::<u8>()), 0..200)) {
            let mut expected = v.clone();
            expected.sort_by_key(|p| p.0);
            sort_by_key(&mut v, |p| p.0);
            let keys: Vec<u16> = v.iter().map(|p| p.0).collect();
            let want: Vec<u16> = expected.iter().map(|p| p.0).collect();
            prop_assert_eq!(keys, want);
            let mut a = v.clone();
            a.sort();
            expected.sort();
            prop_assert_eq!(a, expected, "the same elements");
        }
    }
}
