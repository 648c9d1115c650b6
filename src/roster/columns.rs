//! Recognising the columns of a workplace's staff spreadsheet, in Chinese or English.

use crate::member::Field;
use crate::member::text::tidy;

/// A column booth understands. `Consent` is per-row consent; the others map to record fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Field(Field),
}

/// Header spellings seen in union and HR spreadsheets, by field. Matching ignores case,
/// width, spaces, a trailing colon, and "*"/"(必填)" markers.
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Name,
        &[
            "姓名",
            "名字",
            "职工姓名",
            "会员姓名",
            "员工姓名",
            "name",
            "full name",
            "fullname",
        ],
    ),
    (
        Field::IdNumber,
        &[
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "身份证",
            "证件号码",
            "证件号",
            "身份证件号码",
            "id_number",
            "id number",
            "id no",
            "id",
            "idcard",
            "id card",
            "document number",
        ],
    ),
    (
        Field::DocType,
        &[
            "证件类型",
            "证件种类",
            "doc_type",
            "document type",
            "id type",
        ],
    ),
    (
        Field::Phone,
        &[
            "手机号",
            "手机号码",
            "联系电话",
            "手机",
            "电话",
            "联系方式",
            "phone",
            "mobile",
            "mobile phone",
            "telephone",
        ],
    ),
    (
        Field::Employer,
        &[
            "工作单位",
            "单位",
            "单位名称",
            "所在单位",
            "企业名称",
            "employer",
            "company",
            "workplace",
        ],
    ),
    (
        Field::Consent,
        &["同意", "本人同意", "是否同意", "同意授权", "consent"],
    ),
    (
        Field::Ethnicity,
        &["民族", "ethnicity", "ethnic group", "nationality (ethnic)"],
    ),
    (
        Field::PoliticalStatus,
        &["政治面貌", "political_status", "political status"],
    ),
    (
        Field::Education,
        &["学历", "文化程度", "最高学历", "education"],
    ),
    (
        Field::Occupation,
        &[
            "职业",
            "岗位",
            "职业/岗位",
            "职务",
            "工种",
            "occupation",
            "post",
            "job",
        ],
    ),
    (
        Field::EmploymentForm,
        &[
            "用工形式",
            "就业形式",
            "用工方式",
            "employment_form",
            "employment form",
            "employment type",
        ],
    ),
    (
        Field::MigrantWorker,
        &["农民工", "是否农民工", "migrant_worker", "migrant worker"],
    ),
    (
        Field::EmployerUscc,
        &[
            "统一社会信用代码",
            "信用代码",
            "单位信用代码",
            "employer_uscc",
            "uscc",
            "credit code",
        ],
    ),
    (
        Field::Needs,
        &["诉求", "需求", "主要诉求", "needs", "demands"],
    ),
    (
        Field::Remarks,
        &["备注", "说明", "remarks", "notes", "comment"],
    ),
];

/// Required in every roster: without these a row can never be a registration.
pub const REQUIRED: [Field; 4] = [Field::Name, Field::IdNumber, Field::Phone, Field::Employer];

fn normalise_header(raw: &str) -> String {
    let mut s = tidy(raw).to_lowercase();
    for marker in ["(必填)", "（必填）", "*", "＊", ":", "：", "(required)"] {
        s = s.replace(marker, "");
    }
    s.trim().to_string()
}

/// The field a header cell names, if any.
pub fn recognise(header: &str) -> Option<Field> {
    let h = normalise_header(header);
    if h.is_empty() {
        return None;
    }
    ALIASES
        .iter()
        .find(|(_, names)| names.iter().any(|n| *n == h))
        .map(|(f, _)| *f)
}

/// Column index for each recognised field of a header row (first occurrence wins).
pub fn map_header(cells: &[String]) -> Vec<(Field, usize)> {
    let mut out: Vec<(Field, usize)> = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        if let Some(f) = recognise(c)
            && !out.iter().any(|(g, _)| *g == f)
        {
            out.push((f, i));
        }
    }
    out
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
}
