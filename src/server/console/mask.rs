//! What the member list and a member's page show of an ID number or a phone before an admin
//! reveals it: enough to tell two people apart at a glance, not enough to use.

/// An ID number: its first three and last two characters (`110*************2X`).
pub fn id_number(s: &str) -> String {
    keep_ends(s, 3, 2)
}

/// A phone: its last four digits (`*******8000`), what a search by phone tail names.
pub fn phone(s: &str) -> String {
    keep_ends(s, 0, 4)
}

/// A name: its first character (`葛**`).
pub fn name(s: &str) -> String {
    keep_ends(s, 1, 0)
}

fn keep_ends(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    // Short values show less, never all: at least half is hidden.
    let (head, tail) = if head + tail >= n.div_ceil(2) {
        ((n / 4).min(head), 0)
    } else {
        (head, tail)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_look_like_what_offices_print() {
        assert_eq!(id_number("11010519491231002X"), "110*************2X");
        assert_eq!(phone("13800138000"), "*******8000");
        assert_eq!(name("葛婷婷"), "葛**");
        assert_eq!(id_number(""), "");
    }

    proptest! {
        /// Whatever the value, at least half of it is hidden and the length is kept.
        #[test]
        fn at_least_half_is_always_hidden(s in "\\PC{0,40}") {
            for m in [id_number(&s), phone(&s), name(&s)] {
                let n = s.chars().count();
                prop_assert_eq!(m.chars().count(), n);
                let shown = m.chars().zip(s.chars()).filter(|(a, b)| a == b && *a != '*').count();
                prop_assert!(shown * 2 <= n, "{} shows {} of {}", m, shown, n);
            }
        }
    }
}
