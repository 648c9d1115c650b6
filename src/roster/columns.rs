//! Recognising the columns of a workplace's staff spreadsheet, in Chinese or English, by a
//! normalised wording looked up in `assets/import/headers.toml`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::member::text::fold_width;
use crate::member::{DocKind, Field};

const HEADERS: &str = include_str!("../../assets/import/headers.toml");

/// Required in every roster: without these a row can never be a registration.
pub const REQUIRED: [Field; 4] = [Field::Name, Field::IdNumber, Field::Phone, Field::Employer];

/// A heading reduced to what tells it apart (see the top of `headers.toml`): width folded,
/// lower case, no spaces, markers, punctuation or bracketed notes, no "的", "号码" as "号".
pub fn normalise_header(raw: &str) -> String {
    let mut s = String::with_capacity(raw.len());
    let mut depth = 0usize;
    for c in raw.chars().map(fold_width) {
        match c {
            '(' | '[' | '{' | '【' | '〔' | '〖' | '<' | '《' => depth += 1,
            ')' | ']' | '}' | '】' | '〕' | '〗' | '>' | '》' => {
                depth = depth.saturating_sub(1)
            }
            _ if depth > 0 => {}
            _ if c.is_whitespace() || c.is_control() => {}
            '*' | '※' | ':' | '：' | '_' | '-' | '.' | '。' | '、' | '"' | '\'' | '“' | '”'
            | '的' => {}
            _ => s.extend(c.to_lowercase().map(simplified)),
        }
    }
    s.replace("号码", "号")
}

/// Traditional characters of headings (Hong Kong, Macao and Taiwan offices) as simplified
/// ones: `身份證號碼` reads as `身份证号码`.
fn simplified(c: char) -> char {
    const PAIRS: &[(char, char)] = &[
        ('證', '证'),
        ('號', '号'),
        ('碼', '码'),
        ('機', '机'),
        ('單', '单'),
        ('電', '电'),
        ('話', '话'),
        ('聯', '联'),
        ('繫', '系'),
        ('係', '系'),
        ('職', '职'),
        ('業', '业'),
        ('崗', '岗'),
        ('務', '务'),
        ('歷', '历'),
        ('學', '学'),
        ('統', '统'),
        ('會', '会'),
        ('類', '类'),
        ('護', '护'),
        ('員', '员'),
        ('農', '农'),
        ('備', '备'),
        ('註', '注'),
        ('說', '说'),
        ('訴', '诉'),
        ('項', '项'),
        ('稱', '称'),
        ('營', '营'),
        ('現', '现'),
        ('屬', '属'),
        ('種', '种'),
        ('從', '从'),
        ('僱', '雇'),
        ('傭', '佣'),
        ('處', '处'),
        ('簽', '签'),
        ('書', '书'),
        ('權', '权'),
        ('與', '与'),
        ('個', '个'),
        ('資', '资'),
        ('訊', '讯'),
        ('實', '实'),
        ('際', '际'),
        ('別', '别'),
        ('為', '为'),
        ('於', '于'),
        ('絡', '络'),
        ('戶', '户'),
        ('齡', '龄'),
        ('內', '内'),
        ('陸', '陆'),
        ('灣', '湾'),
        ('臺', '台'),
        ('門', '门'),
        ('來', '来'),
        ('僑', '侨'),
        ('國', '国'),
        ('勞', '劳'),
        ('動', '动'),
        ('關', '关'),
        ('態', '态'),
        ('層', '层'),
        ('級', '级'),
        ('專', '专'),
        ('長', '长'),
        ('簡', '简'),
        ('體', '体'),
        ('貫', '贯'),
        ('齊', '齐'),
        ('並', '并'),
    ];
    PAIRS
        .iter()
        .find(|(t, _)| *t == c)
        .map_or(c, |(_, simple)| *simple)
}

/// Looser readings of a wording, tried in turn when it matches nothing: without a trailing
/// "名称"/"全称" (`工作单位名称` → `工作单位`), without a leading "本人"/"职工"/"员工"/"会员"
/// (`本人是否同意处理个人信息` → `是否同意处理个人信息`), and without both.
fn looser(key: &str) -> Vec<&str> {
    let no_suffix = ["名称", "全称"]
        .iter()
        .find_map(|suffix| key.strip_suffix(suffix))
        .filter(|rest| !rest.is_empty());
    let no_prefix = |k: &str| -> Option<usize> {
        ["本人", "职工", "员工", "会员", "人员"]
            .iter()
            .find(|p| k.starts_with(*p) && k.len() > p.len())
            .map(|p| p.len())
    };
    let mut out = Vec::new();
    if let Some(k) = no_suffix {
        out.push(k);
    }
    if let Some(n) = no_prefix(key) {
        out.push(&key[n..]);
    }
    if let Some(k) = no_suffix
        && let Some(n) = no_prefix(k)
    {
        out.push(&k[n..]);
    }
    out
}

fn table() -> &'static HashMap<String, Field> {
    static TABLE: OnceLock<HashMap<String, Field>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let parsed: HashMap<String, Vec<String>> =
            toml::from_str(HEADERS).expect("assets/import/headers.toml is valid");
        let mut table = HashMap::new();
        for (code, wordings) in parsed {
            let field = Field::ALL
                .into_iter()
                .find(|f| f.code() == code)
                .expect("headers.toml: a list per field code");
            // The field's own code and its labels in both languages are headings too.
            let own = [
                field.code().to_string(),
                field.label(crate::i18n::Lang::Zh).to_string(),
                field.label(crate::i18n::Lang::En).to_string(),
            ];
            for w in own.iter().chain(&wordings) {
                table.entry(normalise_header(w)).or_insert(field);
            }
        }
        table
    })
}

/// The field a header cell names, if any.
pub fn recognise(header: &str) -> Option<Field> {
    let key = normalise_header(header);
    if key.is_empty() {
        return None;
    }
    let t = table();
    t.get(&key)
        .or_else(|| looser(&key).into_iter().find_map(|k| t.get(k)))
        .copied()
}

/// The document kind an ID column's heading implies: `身份证号` means resident IDs (unless a
/// row says otherwise), `护照号` passports; a neutral `证件号码` implies nothing.
pub fn implied_doc_kind(header: &str) -> Option<DocKind> {
    let key = normalise_header(header);
    let id_card = key.contains("身份证") || key.contains("公民身份") || key.contains("idcard");
    let passport = key.contains("护照") || key.contains("passport");
    match (id_card, passport) {
        (true, false) => Some(DocKind::ResidentId),
        (false, true) => Some(DocKind::Passport),
        _ => None,
    }
}

/// A header row, read: the column of each recognised field (first occurrence wins), and the
/// headed columns nothing recognised (reported, then ignored).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeaderMap {
    pub columns: Vec<(Field, usize)>,
    /// (column index, heading as written) of columns booth does not read.
    pub ignored: Vec<(usize, String)>,
    /// What the ID column's heading says about the document kind.
    pub implied_kind: Option<DocKind>,
}

impl HeaderMap {
    pub fn has(&self, f: Field) -> bool {
        self.columns.iter().any(|(g, _)| *g == f)
    }
}

/// Maps a header row.
pub fn map_header(cells: &[String]) -> HeaderMap {
    let mut map = HeaderMap::default();
    for (i, c) in cells.iter().enumerate() {
        match recognise(c) {
            Some(f) if !map.has(f) => {
                if f == Field::IdNumber {
                    map.implied_kind = implied_doc_kind(c);
                }
                map.columns.push((f, i));
            }
            Some(_) => map.ignored.push((i, c.trim().to_string())),
            None if c.trim().is_empty() => {}
            None => map.ignored.push((i, c.trim().to_string())),
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_headers() {
        assert_eq!(recognise(" 姓名* "), Some(Field::Name));
        assert_eq!(recognise("身份证号码（必填）"), Some(Field::IdNumber));
        assert_eq!(recognise("联系电话"), Some(Field::Phone));
        assert_eq!(recognise("ID_Number"), Some(Field::IdNumber));
        assert_eq!(recognise("Ｎａｍｅ"), Some(Field::Name));
        assert_eq!(recognise("同意"), Some(Field::Consent));
        assert_eq!(recognise("出生日期"), None);
    }

    #[test]
    fn wordings_offices_use() {
        for (h, f) in [
            ("工作单位名称", Field::Employer),
            ("单位名称", Field::Employer),
            ("工作单位的名称", Field::Employer),
            ("单位全称", Field::Employer),
            ("企业名称", Field::Employer),
            ("姓　　名", Field::Name),
            ("身份证\n号码", Field::IdNumber),
            ("公民身份号码", Field::IdNumber),
            ("证件号码(身份证/护照)", Field::IdNumber),
            ("手机号码（必填）", Field::Phone),
            ("联系电话：", Field::Phone),
            ("本人的手机号码", Field::Phone),
            ("*民族", Field::Ethnicity),
            ("政治面貌（党员/团员/群众）", Field::PoliticalStatus),
            ("文化程度", Field::Education),
            ("岗位名称", Field::Occupation),
            (
                "用工形式【劳动合同/劳务派遣/灵活就业】",
                Field::EmploymentForm,
            ),
            ("是否农民工", Field::MigrantWorker),
            ("单位统一社会信用代码", Field::EmployerUscc),
            ("主要诉求", Field::Needs),
            ("备  注", Field::Remarks),
            ("证件类型", Field::DocType),
            ("是否同意处理个人信息", Field::Consent),
            ("Mobile Phone", Field::Phone),
            ("Employer-Name", Field::Employer),
            ("ID No.", Field::IdNumber),
            ("本人是否同意处理个人信息", Field::Consent),
            ("职工手机号码", Field::Phone),
            ("会员工作单位名称", Field::Employer),
            // Hong Kong, Macao and Taiwan offices write traditional characters
            ("身份證號碼", Field::IdNumber),
            ("手機號碼", Field::Phone),
            ("工作單位", Field::Employer),
            ("聯絡電話", Field::Phone),
        ] {
            assert_eq!(recognise(h), Some(f), "{h:?}");
        }
        for h in ["序号", "性别", "出生日期", "家庭住址", "工会名称", ""] {
            assert_eq!(recognise(h), None, "{h:?}");
        }
    }

    #[test]
    fn the_id_heading_implies_a_kind() {
        assert_eq!(implied_doc_kind("身份证号码"), Some(DocKind::ResidentId));
        assert_eq!(implied_doc_kind("护照号"), Some(DocKind::Passport));
        assert_eq!(implied_doc_kind("证件号码"), None);
        assert_eq!(implied_doc_kind("身份证/护照号"), None);
    }

    #[test]
    fn unknown_columns_are_listed() {
        let cells: Vec<String> = ["序号", "姓名", "性别", "身份证号", "", "家庭住址", "姓名"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = map_header(&cells);
        assert_eq!(m.columns, vec![(Field::Name, 1), (Field::IdNumber, 3)]);
        let ignored: Vec<usize> = m.ignored.iter().map(|(i, _)| *i).collect();
        assert_eq!(ignored, vec![0, 2, 5, 6]);
        assert_eq!(m.implied_kind, Some(DocKind::ResidentId));
    }

    #[test]
    fn no_heading_is_listed_twice() {
        let parsed: HashMap<String, Vec<String>> = toml::from_str(HEADERS).unwrap();
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (code, wordings) in &parsed {
            for w in wordings {
                let key = normalise_header(w);
                assert!(!key.is_empty(), "{w}");
                if let Some(before) = seen.insert(key, code) {
                    panic!("{w:?} is listed under {before} and {code}");
                }
            }
        }
        // every field has headings
        for f in Field::ALL {
            assert!(parsed.contains_key(f.code()), "{}", f.code());
        }
    }
}
