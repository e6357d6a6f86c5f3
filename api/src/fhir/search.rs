//! Type searches: `Patient?identifier=`, and the resident-scoped searches (`patient=` plus
//! `code` and `date` where FHIR defines them) over the latest versions in a fixed log
//! snapshot, paged; `Consent?patient=` from the chain.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use hl_ledger::pseudonym::Pseudonym;
use hl_ledger::resource_types::is_r4_resource_type;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::consent_view;
use super::meta::{self, Loaded};
use super::page::{self, Disclosure, Links, PAGING, Paging};
use super::params::{DateParam, Params, Token, date_of};
use crate::auth::Access;
use crate::auth::policy::Op;
use crate::error::{ApiError, ApiResult, fhir_body};
use crate::resident::{self, Resident};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(search))]
pub struct Doc;

/// A search parameter: name, FHIR type, what it matches.
pub type ParamSpec = (&'static str, &'static str, &'static str);

const PATIENT: ParamSpec = (
    "patient",
    "reference",
    "The resident's Patient: Patient/<id> or <id> (required)",
);
const CODE: ParamSpec = (
    "code",
    "token",
    "[system|]code against code.coding; comma = any of",
);

/// The searches this server supports, per resource type (the CapabilityStatement lists them).
pub const SEARCHES: &[(&str, &[ParamSpec])] = &[
    (
        "Patient",
        &[(
            "identifier",
            "token",
            "[system|]value of a resident identifier system the node pseudonymises (required)",
        )],
    ),
    (
        "Observation",
        &[
            PATIENT,
            CODE,
            (
                "date",
                "date",
                "effective[x], with eq/ne/gt/lt/ge/le and partial dates; repeat = all of",
            ),
        ],
    ),
    ("Condition", &[PATIENT]),
    (
        "Encounter",
        &[
            PATIENT,
            (
                "date",
                "date",
                "period, with eq/ne/gt/lt/ge/le and partial dates; repeat = all of",
            ),
        ],
    ),
    ("Immunization", &[PATIENT]),
    ("AuditEvent", &[PATIENT]),
    ("Consent", &[PATIENT]),
];

/// Search a resource type. Strict by default: an unknown or unsupported parameter is a 400
/// naming it; with `Prefer: handling=lenient` it is ignored and named in an OperationOutcome
/// entry (search.mode `outcome`). Only latest versions match. Paging: `_count`, and `next`
/// links that carry the log size of the first page (`_snapshot`) so pages stay stable while
/// the log grows. Every page that discloses a resident's records appends an AuditEvent first.
/// `_proof=true` answers the proof bundle of the page's records instead.
#[utoipa::path(get, path = "/fhir/{type}", tag = "fhir",
    params(
        ("type" = String, Path, description = "Patient, Observation, Condition, Encounter, Immunization, AuditEvent or Consent"),
        ("patient" = Option<String>, Query, description = "Patient/<id> or <id> (all types but Patient)"),
        ("identifier" = Option<String>, Query, description = "Patient: [system|]value of a resident identifier"),
        ("code" = Option<String>, Query, description = "Observation: [system|]code"),
        ("date" = Option<String>, Query, description = "Observation, Encounter: [eq|ne|gt|lt|ge|le]date"),
        ("_count" = Option<usize>, Query, description = "Page size"),
        ("_offset" = Option<usize>, Query, description = "Entries to skip (from next links)"),
        ("_snapshot" = Option<u64>, Query, description = "Log size the search is computed at (from next links)"),
        ("_proof" = Option<bool>, Query, description = "Answer a proof bundle of the page's records instead"),
    ),
    responses(
        (status = 200, description = "Bundle of type searchset (or a proof bundle)", content_type = "application/fhir+json"),
        (status = 400, description = "Unknown, unsupported or malformed parameter"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed"),
        (status = 404, description = "Unknown type or Patient"),
        (status = 501, description = "Consent: the chain is not configured"),
        (status = 503, description = "The access audit or the chain is unavailable"),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    access: Access,
    Path(ty): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    if !is_r4_resource_type(&ty) {
        return Err(ApiError::not_found(format!(
            "'{ty}' is not a FHIR R4 resource type"
        )));
    }
    let Some((_, specs)) = SEARCHES.iter().find(|(k, _)| *k == ty) else {
        let list: Vec<&str> = SEARCHES.iter().map(|(k, _)| *k).collect();
        return Err(ApiError::not_supported(format!(
            "search on {ty} is not supported (searchable: {})",
            list.join(", ")
        )));
    };
    access.allow(Op::ReadShared)?;
    let mut params = Params::parse(q.as_deref(), &headers)?;
    let paging = Paging::take(&mut params, &state)?;
    let proof = params.take_proof()?;
    params.take_format()?;
    let mut supported: Vec<&str> = specs.iter().map(|s| s.0).collect();
    supported.extend(PAGING);
    supported.extend(["_proof", "_format"]);
    let query = page::audit_query(&uri);
    let cx = Cx {
        state: &state,
        access: &access,
        ty: &ty,
        paging,
        proof,
        query: &query,
    };
    if ty == "Patient" {
        let ident = params.take_one("identifier")?.ok_or_else(|| {
            ApiError::bad_request("Patient search needs identifier=[system|]value").at("identifier")
        })?;
        let wanted = wanted_identifiers(&state, &ident)?;
        let ignored = params.finish(&supported)?;
        return by_identifier(&cx, &ident, &wanted, &ignored).await;
    }
    let patient = params.take_one("patient")?.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{ty} search needs patient=Patient/<id> (or a 64-hex resident pseudonym)"
        ))
        .at("patient")
    })?;
    let pid = patient
        .strip_prefix("Patient/")
        .unwrap_or(&patient)
        .to_owned();
    if !hl_ledger::input::is_fhir_id(&pid) {
        return Err(
            ApiError::bad_request(format!("patient '{patient}' is not Patient/<id>")).at("patient"),
        );
    }
    let mut used = vec![("patient".to_owned(), patient.clone())];
    let has = |n: &str| specs.iter().any(|s| s.0 == n);
    let mut codes = Vec::new();
    if has("code") {
        for c in params.take_all("code") {
            codes.push(Token::parse_any(&c).map_err(|e| e.at("code"))?);
            used.push(("code".into(), c));
        }
    }
    let mut dates = Vec::new();
    if has("date") {
        for d in params.take_all("date") {
            dates.push(DateParam::parse(&d)?);
            used.push(("date".into(), d));
        }
    }
    let ignored = params.finish(&supported)?;
    let (resident, pid) = subject_of(&state, &patient, pid)?;
    let pid = pid.as_deref();
    access.allow(if ty == "Consent" {
        Op::ReadConsent(&resident.pseudonym)
    } else {
        meta::op_for(&ty, Some(&resident.pseudonym))
    })?;
    let links = Links {
        path: format!("/fhir/{ty}"),
        params: used,
    };
    if ty == "Consent" {
        return consents(&cx, &resident, pid, &links, &ignored).await;
    }
    let mut all = meta::resident_latest(&state, &resident.pseudonym, paging.snapshot, |e| {
        e.kind == ty
    })?;
    if !codes.is_empty() || !dates.is_empty() {
        let mut kept = Vec::with_capacity(all.len());
        for l in all {
            let v = l.content_json()?;
            let code_ok = codes.iter().all(|any| {
                let codings = v["code"]["coding"].as_array().map(Vec::as_slice);
                any.iter().any(|t| {
                    codings
                        .unwrap_or_default()
                        .iter()
                        .any(|c| t.matches(c, "code"))
                })
            });
            let date_ok =
                dates.is_empty() || date_of(&v).is_some_and(|r| dates.iter().all(|d| d.matches(r)));
            if code_ok && date_ok {
                kept.push(l);
            }
        }
        all = kept;
    }
    let d = Disclosure {
        interaction: "search-type",
        query: &query,
        patient_id: pid,
        subject: Some(resident),
    };
    answer(&cx, &d, &links, &all, &ignored).await
}

/// The resident `patient=` names, and the Patient id when it named one of this log. A bare
/// 64-hex value that is no Patient id here names the resident by pseudonym: a resident this
/// node holds no Patient of (whose records it only read from other members) still has an
/// access log here.
fn subject_of(
    state: &AppState,
    patient: &str,
    pid: String,
) -> ApiResult<(Resident, Option<String>)> {
    match resident::of_patient(state, &pid) {
        Ok(r) => Ok((r, Some(pid))),
        Err(e)
            if e.status == StatusCode::NOT_FOUND
                && !patient.starts_with("Patient/")
                && resident::is_pseudonym(&pid) =>
        {
            Ok((resident::resolve(state, &pid)?, None))
        }
        Err(e) => Err(e),
    }
}

/// What every search step needs.
struct Cx<'a> {
    state: &'a AppState,
    access: &'a Access,
    ty: &'a str,
    paging: Paging,
    proof: bool,
    query: &'a str,
}

/// Discloses the page of `all` (audit first), then answers it as a searchset or proof bundle.
async fn answer(
    cx: &Cx<'_>,
    d: &Disclosure<'_>,
    links: &Links,
    all: &[Loaded],
    ignored: &[String],
) -> ApiResult<Response> {
    let shown = cx.paging.slice(all);
    let a = page::Answer {
        proof: cx.proof,
        kind: "searchset",
        links,
        paging: cx.paging,
        total: all.len(),
        ignored,
    };
    page::disclose_and_answer(cx.state, cx.access, d, shown, a).await
}

/// (system, pseudonym) pairs an `identifier` search stands for.
fn wanted_identifiers(state: &AppState, ident: &str) -> ApiResult<Vec<(String, Pseudonym)>> {
    let p = &state.input.pseudonymizer;
    let systems = p.systems();
    let cannot = |what: String| {
        ApiError::not_supported(format!(
            "{what}: Patient is searchable by the resident identifier systems only: {}",
            systems.join(", ")
        ))
        .at("identifier")
    };
    let mut wanted = Vec::new();
    for t in Token::parse_any(ident).map_err(|e| e.at("identifier"))? {
        let value = t
            .code
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("identifier needs a value").at("identifier"))?;
        let candidates: Vec<&String> = match t.system.as_deref() {
            None => systems.iter().collect(),
            Some("") => return Err(cannot("an identifier without a system".into())),
            Some(s) => match systems.iter().find(|x| *x == s) {
                Some(x) => vec![x],
                None => return Err(cannot(format!("identifier system '{s}'"))),
            },
        };
        for s in candidates {
            if let Some(ps) = p.of_identifier(s, value) {
                wanted.push((s.clone(), ps));
            }
        }
    }
    Ok(wanted)
}

async fn by_identifier(
    cx: &Cx<'_>,
    ident: &str,
    wanted: &[(String, Pseudonym)],
    ignored: &[String],
) -> ApiResult<Response> {
    let p = &cx.state.input.pseudonymizer;
    let mut all: Vec<Loaded> = Vec::new();
    let mut seen: Vec<Pseudonym> = Vec::new();
    for (_, ps) in wanted {
        if seen.contains(ps) {
            continue;
        }
        seen.push(*ps);
        let patients =
            meta::resident_latest(cx.state, ps, cx.paging.snapshot, |e| e.kind == "Patient")?;
        for l in patients {
            let v = l.content_json()?;
            let hit = v["identifier"].as_array().is_some_and(|ids| {
                ids.iter().any(|i| {
                    let sys = i["system"].as_str().unwrap_or_default();
                    let val = i["value"].as_str().unwrap_or_default();
                    wanted
                        .iter()
                        .any(|(s, w)| s == sys && p.of_identifier(s, val).as_ref() == Some(w))
                })
            });
            if hit {
                all.push(l);
            }
        }
    }
    all.sort_by_key(|l| l.index);
    let links = Links {
        path: format!("/fhir/{}", cx.ty),
        params: vec![("identifier".into(), ident.to_owned())],
    };
    let d = Disclosure {
        interaction: "search-type",
        query: cx.query,
        patient_id: None,
        subject: None,
    };
    answer(cx, &d, &links, &all, ignored).await
}

/// `Consent?patient=`: the resident's consents as the contract holds them. They are chain
/// state, not log records, so there is no proof bundle of them.
async fn consents(
    cx: &Cx<'_>,
    resident: &Resident,
    pid: Option<&str>,
    links: &Links,
    ignored: &[String],
) -> ApiResult<Response> {
    if cx.proof {
        return Err(ApiError::not_supported(
            "_proof=true: consents live on chain, not in the log; verify them against the contract",
        )
        .at("_proof"));
    }
    let infos = cx.state.chain.consents(&resident.pseudonym).await?;
    let hex = resident.hex();
    let all: Vec<Value> = infos
        .iter()
        .map(|c| consent_view::to_fhir(c, pid, &hex))
        .collect();
    let d = Disclosure {
        interaction: "search-type",
        query: cx.query,
        patient_id: pid,
        subject: Some(*resident),
    };
    page::disclose(cx.state, cx.access, &d, &[]).await?;
    let mut entries = cx
        .paging
        .slice(&all)
        .iter()
        .map(|c| {
            page::raw(&json!({
                "fullUrl": format!("urn:uuid:{}", c["id"].as_str().unwrap_or_default()),
                "resource": c,
                "search": { "mode": "match" },
            }))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if let Some(e) = page::ignored_entry(ignored) {
        entries.push(page::raw(&e)?);
    }
    let b = page::bundle(cx.state, "searchset", links, &cx.paging, all.len(), entries);
    Ok(fhir_body(StatusCode::OK, b))
}
