//! The four steps of the demo.

use std::io::Write;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use time::OffsetDateTime;

use super::checks::{self, Served};
use super::{CENTRE_TAG, Demo, Summary, say};
use crate::localnet::view::{ConsortiumView, HolderAnswer};
use crate::localnet::wallet::{self, GrantSpec};

/// Every data category (bits 0–6).
const ALL_CATEGORIES: u64 = 0x7f;
const PURPOSE: &str = "TREAT";
const REASON: &str = "unconscious on arrival in the emergency department";
const BREAK_GLASS: &str = "X-Break-Glass-Reason";

/// The resident's wallet and session, from step B on.
pub struct Consent {
    wallet: PrivateKeySigner,
    session: String,
    grantee: Address,
    served: [usize; 2],
}

fn city_view(d: &Demo, headers: &[(&str, &str)]) -> Result<ConsortiumView, String> {
    let city = d.city();
    let v = city.consortium_view(&d.pseudonym, city.token("clinician")?, headers)?;
    if !v.local.is_empty() {
        return Err(format!(
            "the city hospital holds {} record(s) of the resident itself",
            v.local.len()
        ));
    }
    Ok(v)
}

fn print_holders(d: &Demo, out: &mut impl Write, v: &ConsortiumView) -> Result<(), String> {
    for h in &v.holders {
        say!(out, "     - {}", describe(d, h));
    }
    Ok(())
}

/// A holder's answer in a line: a refusal lists the refused categories once instead of one
/// sentence per category.
fn describe(d: &Demo, h: &HolderAnswer) -> String {
    if h.status != "refused" {
        return h.diagnostics.clone();
    }
    let name = d
        .net
        .nodes
        .iter()
        .find(|n| n.origin == h.origin)
        .map_or(h.origin.as_str(), |n| n.name.as_str());
    let categories: Vec<&str> = h
        .diagnostics
        .split("to category ")
        .skip(1)
        .filter_map(|s| s.split_whitespace().next())
        .collect();
    let purpose = h
        .diagnostics
        .split("for purpose ")
        .nth(1)
        .and_then(|s| s.split([';', ' ']).next())
        .unwrap_or("?");
    if categories.is_empty() {
        format!("{name}: {}", h.diagnostics)
    } else {
        format!(
            "{name}: refused, no active consent for {} to categories {} for purpose {purpose}",
            d.city().name,
            categories.join(", ")
        )
    }
}

/// A: no consent, so both holders refuse and nothing remote is shown.
pub fn no_consent(d: &Demo, out: &mut impl Write, s: &mut Summary) -> Result<(), String> {
    say!(out, "");
    say!(
        out,
        "== A. The city hospital's clinician asks for the resident's records across the consortium, without consent"
    );
    let v = city_view(d, &[])?;
    s.answers.push(('A', v.bundle.clone()));
    checks::all_holders(&v, &[d.centre(), d.county()], "refused")?;
    s.refused_without_consent = v.holders.iter().filter(|h| h.status == "refused").count();
    say!(
        out,
        "   $everything?scope=consortium: {} remote records; the holders answered:",
        v.remote.len()
    );
    print_holders(d, out, &v)?;
    Ok(())
}

/// B: the resident binds a wallet and grants the city hospital; the city sees both holders'
/// records, verified and exactly what each holds.
pub fn consent(d: &Demo, out: &mut impl Write, s: &mut Summary) -> Result<Consent, String> {
    let centre = d.centre();
    let pid = d.subject.patient_id(CENTRE_TAG);
    say!(out, "");
    say!(
        out,
        "== B. The resident binds a wallet at the centre and grants the city hospital access (purpose {PURPOSE}, every category)"
    );
    let w = PrivateKeySigner::random();
    let bound = wallet::bind(centre, &pid, w.address())?;
    if bound != d.pseudonym {
        return Err(format!(
            "the wallet was bound to resident {bound}, not {}",
            d.pseudonym
        ));
    }
    let session = wallet::sign_in(centre, &w, &[wallet::patient_resource(&pid)])?;
    say!(
        out,
        "   wallet {} bound on chain by the centre's admin; the resident signed in with it (EIP-4361)",
        w.address()
    );
    let t = wallet::typed(centre, &pid, &session)?;
    let grantee: Address = d
        .city()
        .account
        .parse()
        .map_err(|e| format!("the city's account '{}': {e}", d.city().account))?;
    let now = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let spec = GrantSpec {
        grantee,
        categories: ALL_CATEGORIES,
        purpose: PURPOSE.into(),
        expiry: now + 30 * 86_400,
        nonce: t.nonce,
        deadline: now + 600,
    };
    let tx = wallet::grant(centre, &session, &w, &t, &spec)?;
    let consents = centre
        .get(&format!("/v1/consents/{pid}"), Some(&session), &[])?
        .expect_json(200)?;
    let active = consents["consents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c["grantee"]
                .as_str()
                .is_some_and(|g| g.eq_ignore_ascii_case(&d.city().account))
        })
        .ok_or_else(|| format!("the consents list does not name the city hospital: {consents}"))?;
    if active["active"] != true || active["purpose"] != PURPOSE {
        return Err(format!("the consent is not active for {PURPOSE}: {active}"));
    }
    say!(
        out,
        "   EIP-712 grant signed by the wallet, relayed by the centre: tx {} in block {}; consent to {} active, categories {}, 30 days",
        tx.tx_hash,
        tx.block,
        active["grantee_name"].as_str().unwrap_or("?"),
        active["categories"].as_str().unwrap_or("?")
    );

    let v = city_view(d, &[])?;
    s.answers.push(('B', v.bundle.clone()));
    checks::all_holders(&v, &[d.centre(), d.county()], "served")?;
    say!(
        out,
        "   the city hospital's clinician asks again: {} remote records, each verified (content hash, inclusion proof, checkpoint signed by the holder's registered key and tied to its anchored head)",
        v.remote.len()
    );
    let mut served = [0; 2];
    for (i, (holder, holder_pid)) in d.holders().into_iter().enumerate() {
        let local = holder.local_everything(&holder_pid, holder.token("clinician")?)?;
        let got: Served = checks::served_as_held(&v, holder, &local)?;
        served[i] = got.records;
        say!(
            out,
            "     - {}: {} records ({}), the same {} it holds, same content; provenance names it; proven into its checkpoint {} ({}…)",
            holder.name,
            got.records,
            checks::kinds_text(&got.kinds),
            local.len(),
            got.checkpoint_size,
            &got.checkpoint_root[..16]
        );
    }
    s.served_with_consent = served;
    Ok(Consent {
        wallet: w,
        session,
        grantee,
        served,
    })
}

/// C: the resident revokes; both holders refuse again and the city serves nothing it kept.
pub fn revoked(d: &Demo, out: &mut impl Write, s: &mut Summary, c: &Consent) -> Result<(), String> {
    let centre = d.centre();
    let pid = d.subject.patient_id(CENTRE_TAG);
    say!(out, "");
    say!(out, "== C. The resident revokes the consent");
    let t = wallet::typed(centre, &pid, &c.session)?;
    let tx = wallet::revoke(centre, &c.session, &c.wallet, &t, c.grantee, PURPOSE)?;
    say!(
        out,
        "   EIP-712 revocation relayed: tx {} in block {}",
        tx.tx_hash,
        tx.block
    );
    let v = city_view(d, &[])?;
    s.answers.push(('C', v.bundle.clone()));
    checks::all_holders(&v, &[d.centre(), d.county()], "refused")?;
    if let Some(h) = v.holders.iter().find(|h| h.diagnostics.contains("cached")) {
        return Err(format!(
            "the city served a kept answer after the revocation: {}",
            h.diagnostics
        ));
    }
    s.refused_after_revocation = v.holders.iter().filter(|h| h.status == "refused").count();
    say!(
        out,
        "   the city hospital asks again within its cache's lifetime: {} remote records, nothing kept is shown; the holders answered:",
        v.remote.len()
    );
    print_holders(d, out, &v)?;
    Ok(())
}

/// D: a break-glass read is served, recorded in each holder's access log for the resident,
/// and emitted on chain.
pub fn break_glass(
    d: &Demo,
    out: &mut impl Write,
    s: &mut Summary,
    c: &Consent,
) -> Result<(), String> {
    say!(out, "");
    say!(
        out,
        "== D. Emergency: the city hospital's clinician breaks the glass (\"{REASON}\")"
    );
    let v = city_view(d, &[(BREAK_GLASS, REASON)])?;
    s.answers.push(('D', v.bundle.clone()));
    checks::all_holders(&v, &[d.centre(), d.county()], "served")?;
    for (i, (holder, _)) in d.holders().into_iter().enumerate() {
        let n = v.from_holder(&holder.origin).len();
        if n != c.served[i] {
            return Err(format!(
                "{} served {n} records on the break-glass read, {} with consent",
                holder.name, c.served[i]
            ));
        }
        let h = v
            .holder(&holder.origin)
            .map(|h| h.diagnostics.as_str())
            .unwrap_or_default();
        if !h.contains("break-glass") {
            return Err(format!(
                "{}'s answer is not marked break-glass: {h}",
                holder.name
            ));
        }
    }
    s.served_break_glass = v.remote.len();
    say!(
        out,
        "   {} remote records served, verified; the holders answered:",
        v.remote.len()
    );
    print_holders(d, out, &v)?;

    // The resident reads the centre's access log with the wallet session, the county
    // hospital's auditor reads its own.
    let city = d.city();
    let mut audits = 0;
    for (i, (holder, holder_pid)) in d.holders().into_iter().enumerate() {
        let (token, reader) = if i == 0 {
            (
                c.session.as_str(),
                "the resident (signed in with the wallet)",
            )
        } else {
            (holder.token("auditor")?, "the auditor")
        };
        let log = holder
            .get(
                &format!("/fhir/AuditEvent?patient={holder_pid}&_count=1000"),
                Some(token),
                &[],
            )?
            .expect_json(200)?;
        let reads = checks::reads_by(&log, &city.account);
        let glass: Vec<_> = reads
            .iter()
            .filter(|r| r.break_glass_reason.as_deref() == Some(REASON))
            .collect();
        if glass.len() != 1 || glass[0].purpose != "ETREAT" || !glass[0].who.contains(&city.name) {
            return Err(format!(
                "{}'s access log shows {} break-glass read(s) by {} (purpose {:?}, agent {:?}), expected one with ETREAT naming it",
                holder.name,
                glass.len(),
                city.name,
                glass.first().map(|g| g.purpose.as_str()),
                glass.first().map(|g| g.who.as_str())
            ));
        }
        let consented = reads.iter().filter(|r| r.purpose == PURPOSE).count();
        if consented != 1 {
            return Err(format!(
                "{}'s access log shows {consented} consented read(s) by {}, expected the one of step B",
                holder.name, city.name
            ));
        }
        audits += glass.len();
        say!(
            out,
            "   {}'s access log for the resident, read by {reader}: {} reads by {} — one with consent ({PURPOSE}), one break-glass (ETREAT, reason in clear, leaves {})",
            holder.name,
            reads.len(),
            city.name,
            glass[0].leaves
        );
    }
    s.break_glass_audits = audits;

    let events = d
        .net
        .rpc()?
        .emergency_accesses(&d.net.contract, &d.pseudonym)?;
    let hash = checks::sha256(REASON);
    let name_of = |a: &Address| {
        d.net
            .nodes
            .iter()
            .find(|n| n.account.parse::<Address>().ok() == Some(*a))
            .map_or_else(|| a.to_string(), |n| n.name.clone())
    };
    if let Some(e) = events.iter().find(|e| e.reason_hash.0 != hash) {
        return Err(format!(
            "an EmergencyAccess event by {} carries another reason hash",
            name_of(&e.member)
        ));
    }
    let by: Vec<String> = events.iter().map(|e| name_of(&e.member)).collect();
    for who in [&city.name, &d.centre().name, &d.county().name] {
        if !by.contains(who) {
            return Err(format!(
                "no EmergencyAccess event by {who} on chain (events by {by:?})"
            ));
        }
    }
    s.emergency_events = events.len();
    say!(
        out,
        "   on chain: {} EmergencyAccess events for the resident's pseudonym, by {} — each carrying SHA-256 of the reason ({}…), never the reason",
        events.len(),
        by.join(", "),
        &hex::encode(hash)[..16]
    );

    // The city hospital holds no Patient of the resident, yet keeps their access log: the
    // resident signs in there by pseudonym and reads what the city's staff read and passed on.
    let session = wallet::sign_in(
        city,
        &c.wallet,
        &[format!("urn:healthledger:resident:{}", d.pseudonym)],
    )?;
    let log = city
        .get(
            &format!("/fhir/AuditEvent?patient={}&_count=1000", d.pseudonym),
            Some(&session),
            &[],
        )?
        .expect_json(200)?;
    let reads = checks::own_reads(&log);
    let served: usize = c.served.iter().sum();
    let consented = reads
        .iter()
        .filter(|r| r.purpose == PURPOSE && r.remote == served)
        .count();
    let glass = reads
        .iter()
        .filter(|r| r.break_glass_reason.as_deref() == Some(REASON) && r.remote == served)
        .count();
    if consented != 1 || glass != 1 {
        return Err(format!(
            "the city hospital's access log, read by the resident, shows {consented} consented and {glass} break-glass read(s) passing on {served} remote records, expected one of each ({} reads in all)",
            reads.len()
        ));
    }
    s.city_reads = reads.len();
    say!(
        out,
        "   the city hospital's own access log, read by the resident (signed in there by pseudonym): {} reads by its staff, the consented and the break-glass one each naming the {served} remote records passed on",
        reads.len()
    );
    Ok(())
}
