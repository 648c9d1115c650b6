//! GB/T 2260 administrative division codes, current and historic.
//!
//! The first six digits of a resident ID name the county where it was first issued. Counties
//! are merged, renamed and abolished every year, but a person keeps their number for life, so
//! the table carries every code in force since 1980 (see `assets/regions/README.md` for the
//! sources). A code missing from the table under a known province is only a warning.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../assets/regions/gb2260.tsv");

/// One name a code carried, and when (years inclusive; `None` = open-ended).
#[derive(Debug, Clone)]
struct Naming {
    name: &'static str,
    from: Option<u16>,
    until: Option<u16>,
}

fn table() -> &'static HashMap<u32, Vec<Naming>> {
    static T: OnceLock<HashMap<u32, Vec<Naming>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut map: HashMap<u32, Vec<Naming>> = HashMap::with_capacity(8192);
        for line in TABLE.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(code), Some(name)) = (cols.next(), cols.next()) else {
                continue;
            };
            let Ok(code) = code.parse::<u32>() else {
                continue;
            };
            let from = cols.next().and_then(|y| y.parse().ok());
            let until = cols.next().and_then(|y| y.parse().ok());
            map.entry(code)
                .or_default()
                .push(Naming { name, from, until });
        }
        map
    })
}

/// The name of `code` as it was around `year`: the naming in force that year if there is one,
/// otherwise the most recent.
fn name_of(code: u32, year: Option<u16>) -> Option<&'static str> {
    let namings = table().get(&code)?;
    if let Some(y) = year
        && let Some(n) = namings
            .iter()
            .find(|n| n.from.is_none_or(|f| f <= y) && n.until.is_none_or(|u| y <= u))
    {
        return Some(n.name);
    }
    namings
        .iter()
        .max_by_key(|n| n.until.unwrap_or(u16::MAX))
        .map(|n| n.name)
}

/// Provinces (first two digits) that exist, including Taiwan (71) and the special
/// administrative regions used by residence permits (81 Hong Kong, 82 Macao, 83 Taiwan).
pub fn province_exists(two_digits: u32) -> bool {
    table().contains_key(&(two_digits * 10_000))
}

/// The native region derived from an ID's address code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    /// The six-digit code as printed in the ID.
    pub code: String,
    /// "北京市 朝阳区", "河北省 邯郸地区 磁县"; the province alone if the county is unknown.
    pub name: String,
    /// False when the county code is in no revision we ship.
    pub county_known: bool,
}

/// Looks up a six-digit address code. `None` if even the province is unknown.
pub fn lookup(code: &str, birth_year: Option<u16>) -> Option<Region> {
    let n: u32 = code.parse().ok().filter(|_| code.len() == 6)?;
    let province = n / 10_000 * 10_000;
    let prefecture = n / 100 * 100;
    let province_name = name_of(province, birth_year)?;
    let mut parts = vec![province_name];
    if prefecture != province
        && let Some(p) = name_of(prefecture, birth_year)
    {
        // "市辖区"/"县" are placeholders for a municipality's districts: not a place name.
        if p != "市辖区" && p != "县" && p != "省直辖县级行政区划" {
            parts.push(p);
        }
    }
    let county_known = if n != prefecture {
        match name_of(n, birth_year) {
            Some(c) => {
                parts.push(c);
                true
            }
            None => false,
        }
    } else {
        // a code ending in 00 names a province or a prefecture (东莞市 441900): known only
        // if that prefecture is
        n == province || name_of(prefecture, birth_year).is_some()
    };
    Some(Region {
        code: code.to_string(),
        name: parts.join(" "),
        county_known,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_county() {
        let r = lookup("110105", Some(1990)).unwrap();
        assert_eq!(r.name, "北京市 朝阳区");
        assert!(r.county_known);
    }

    #[test]
    fn abolished_district_is_still_known() {
        // 崇文区 was merged into 东城区 in 2010; IDs issued there keep 110103.
        let r = lookup("110103", Some(1975)).unwrap();
        assert_eq!(r.name, "北京市 崇文区");
    }

    #[test]
    fn unknown_county_under_known_province() {
        let r = lookup("110199", Some(1990)).unwrap();
        assert!(!r.county_known);
        assert_eq!(r.name, "北京市");
        // an unknown prefecture, ending in 00
        let r = lookup("119900", Some(1985)).unwrap();
        assert!(!r.county_known);
        // a prefecture-level city without counties is a known place
        assert!(lookup("441900", Some(1990)).unwrap().county_known);
    }

    #[test]
    fn unknown_province() {
        assert!(lookup("990101", None).is_none());
        assert!(!province_exists(99));
        assert!(province_exists(11) && province_exists(65) && province_exists(81));
    }

    #[test]
    fn prefecture_level_names_are_included() {
        let r = lookup("130102", Some(2000)).unwrap();
        assert!(r.name.starts_with("河北省 石家庄市"), "{}", r.name);
    }
}
