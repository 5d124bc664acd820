"""Independent reference implementation of SPEC section 4 (one or several nights)."""
import re
import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
WAITING = {"AWAITING_CHECKIN", "AUTH_EXPIRES_BEFORE_DEADLINE", "UNCONFIRMED_ACTION", "MISSING_PREAUTH"}
CTRL = {chr(i) for i in range(32)} | {chr(127)}


def norm_sn(s):
    if s is None:
        return ""
    s = s.strip()
    if s.startswith("]") and len(s) >= 3:
        s = s[3:]
    s = "".join(c for c in s if c not in CTRL)
    s = s.replace(" ", "").replace("-", "")
    return s.upper()


PLACEHOLDERS = {"NA", "NONE", "NULL", "NIL", "UNKNOWN", "TBD", "TBA", "WALKIN", "NOTRACKING",
                "NOTRACKINGNUMBER", "NOTAVAILABLE", "NOTAPPLICABLE", "NOTPROVIDED", "MISSING",
                "DROPOFF", "INPERSON", "HANDDELIVERED"}


def placeholder(t):
    """A tracking number of zeros, or a word for none ("N/A", "WALKIN"), or what a
    spreadsheet left of a long number ("9.40011E+21") matches nothing."""
    if re.fullmatch(r"[1-9]([.,][0-9]+)?[Ee]\+[0-9]+", t):
        return True
    key = "".join(c for c in t.upper() if c.isascii() and c.isalnum())
    return all(c == "0" for c in key) or key in PLACEHOLDERS


def fold(s):
    return s.replace("O", "0").replace("I", "1").replace("L", "1").replace("S", "5")


def parse_ts(s):
    d = dt.datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    return d.astimezone(UTC)


class Policy:
    def __init__(self, **kw):
        self.return_days = 14
        self.return_days_by_region = {"US": 14}
        self.transit_grace_days = 7
        self.ship_reminder_days = 3
        self.checkin_sla_days = 2
        self.late_return = "capture"
        self.settlement_confirm_days = 3
        self.premium_regions = ["US"]
        self.card_brands = ["visa", "mastercard", "amex"]
        self.auth_validity_days = {"visa": 10, "mastercard": 30, "amex": 7}
        self.currency_exponents = {"JPY": 0, "KRW": 0}
        self.__dict__.update(kw)


EOD_FOLD = 1


def end_of_day(date, tz):
    return dt.datetime(date.year, date.month, date.day, 23, 59, 59, tzinfo=tz, fold=EOD_FOLD).astimezone(UTC)


class Oracle:
    """claims: list of dicts (claims table). events: list of dicts with keys
    tracking, ref, event, at (aware UTC), serial, battery, genuine, file, line.
    settlements: dicts psp, merchant, type, amount (minor or None), currency,
    booked_at, brand, file, line."""

    def __init__(self, claims, tzname, policy):
        self.tz = ZoneInfo(tzname)
        self.p = policy
        self.set_claims(claims)
        self.actions = {}  # (claim_id, kind) -> dict(action, reason, amount, issued_at)
        self.exc = {}  # key -> status
        self.night_results = []

    def set_claims(self, claims):
        self.claims = claims
        self.by_id = {c["claim_id"].strip().lower(): c for c in claims}

    def claim_dates(self, c):
        paid = parse_ts(c["paid_at"])
        rd = c["return_days"]
        if rd is None:
            rd = self.p.return_days_by_region.get(c["region"], self.p.return_days)
        payday = paid.astimezone(self.tz).date()
        dday = payday + dt.timedelta(days=rd)
        deadline = end_of_day(dday, self.tz)
        grace_end = end_of_day(dday + dt.timedelta(days=self.p.transit_grace_days), self.tz)
        return paid, payday, deadline, grace_end

    def match_events(self, events):
        # dedupe: same tracking, event, time (and ref, serial)
        seen = set()
        evs = []
        for e in sorted(events, key=lambda e: (e["file"], e["line"])):
            k = (e["tracking"], e["event"], e["at"], (e["ref"] or "").strip().lower(), norm_sn(e["serial"]))
            if k in seen:
                continue
            seen.add(k)
            evs.append(e)
        claim_of = {}
        for i, e in enumerate(evs):
            r = (e["ref"] or "").strip().lower()
            if r and r in self.by_id:
                claim_of[i] = self.by_id[r]["claim_id"]

        def track_map():
            m = {}
            for i, cid in claim_of.items():
                t = evs[i]["tracking"]
                if t and not placeholder(t):
                    m.setdefault(t, set()).add(cid)
            return m

        # tracking pass then serial pass, iterate to a fixed point
        active_by_sn = {}
        by_id = {c["claim_id"]: c for c in self.claims}
        for c in self.claims:
            if c["status"] == "active":
                active_by_sn.setdefault(norm_sn(c["registered_sn"]), []).append(c["claim_id"])
        for _ in range(3):
            tm = track_map()
            for i, e in enumerate(evs):
                if i in claim_of:
                    continue
                t = e["tracking"]
                if t and not placeholder(t) and t in tm and len(tm[t]) == 1:
                    claim_of[i] = next(iter(tm[t]))
            for i, e in enumerate(evs):
                if i in claim_of or e["event"] != "received":
                    continue
                # the active claims of the serial paid when the unit came in
                cands = [cid for cid in active_by_sn.get(norm_sn(e["serial"]), [])
                         if parse_ts(by_id[cid]["paid_at"]) <= e["at"]]
                if len(cands) == 1:
                    claim_of[i] = cands[0]
        return evs, claim_of

    def exc_add(self, seen, code, subject, info=""):
        seen[(code, subject)] = info

    def night(self, D, run_no, backfill=False):
        p = self.p
        tz = self.tz
        seen = {}
        decisions = {}
        emitted = []
        evs_all = [e for e in self.events if e["at"] <= D]
        evs, claim_of = self.match_events(evs_all)
        per_claim = {}
        for i, e in enumerate(evs):
            cid = claim_of.get(i)
            if cid is None:
                self.exc_add(seen, "UNMATCHED_RECEIPT", f"{e['file']}:{e['line']}")
                continue
            per_claim.setdefault(cid, []).append(e)
        cid_map = {c["claim_id"]: c for c in self.claims}
        for cid, es in per_claim.items():
            if cid_map[cid]["status"] == "cancelled":
                self.exc_add(seen, "RECEIPT_FOR_CANCELLED_CLAIM", cid)
        active_paid = [c for c in self.claims if c["status"] == "active" and parse_ts(c["paid_at"]) <= D]
        # SERIAL_REUSED: a serial on more than one active claim (paid or not:
        # the claims a check-in could be for), raised on those paid by D
        sn_count = {}
        for c in self.claims:
            if c["status"] == "active":
                sn_count.setdefault(norm_sn(c["registered_sn"]), []).append(c["claim_id"])
        for c in sorted(active_paid, key=lambda c: c["claim_id"]):
            cid = c["claim_id"]
            paid, payday, deadline, grace_end = self.claim_dates(c)
            prem = c["plan"] == "premium"
            brand = c["card_brand"].strip().lower() if c["card_brand"] else None
            if len(sn_count[norm_sn(c["registered_sn"])]) > 1:
                self.exc_add(seen, "SERIAL_REUSED", cid)
            if brand is not None and brand not in p.card_brands:
                self.exc_add(seen, "CARD_BRAND_NOT_ALLOWED", cid)
            if c["replacements_left"] <= 0 or payday > dt.date.fromisoformat(c["refresh_expires_on"]):
                self.exc_add(seen, "INELIGIBLE_CLAIM", cid)
            if prem and c["region"] not in p.premium_regions:
                self.exc_add(seen, "PREMIUM_REGION_NOT_ALLOWED", cid)
            missing = prem and (not (c["preauth_ref"] or "").strip() or c["preauth_amount"] is None or c["preauth_amount"] <= 0)
            if prem and c["preauth_amount"] is not None and c["preauth_amount"] > c["product_value"]:
                self.exc_add(seen, "PREAUTH_EXCEEDS_VALUE", cid)
            es = per_claim.get(cid, [])
            rec = sorted([e for e in es if e["event"] == "received"], key=lambda e: (e["at"], e["file"], e["line"]))
            if len({norm_sn(e["serial"]) for e in rec}) > 1:
                self.exc_add(seen, "MULTIPLE_RECEIPTS", cid)
            if missing:
                self.exc_add(seen, "MISSING_PREAUTH", cid)
                decisions[cid] = ("none", None, None)
                continue
            shipped = min([e["at"] for e in es if e["event"] == "shipped"], default=None)
            delivered = min([e["at"] for e in es if e["event"] == "delivered"], default=None)
            checkin = rec[0] if rec else None
            arrival = min([x for x in (delivered, checkin["at"] if checkin else None) if x is not None], default=None)
            timely = arrival is not None and (arrival <= deadline or (shipped is not None and shipped <= deadline and arrival <= grace_end))
            nonconf = []
            if checkin:
                if not checkin["genuine"]:
                    nonconf.append("NON_GENUINE")
                rs, ss = norm_sn(checkin["serial"]), norm_sn(c["registered_sn"])
                if rs != ss:
                    nonconf.append("SN_MISMATCH")
                    if fold(rs) == fold(ss):
                        self.exc_add(seen, "SN_NEAR_MATCH", cid)
                if c["battery_registered"] and not checkin["battery"]:
                    nonconf.append("BATTERY_NOT_RETURNED")
            if not prem:
                if checkin:
                    if nonconf:
                        self.exc_add(seen, "NONCONFORMING_BASIC", cid)
                        dec = ("nonconforming", nonconf[0], None)
                    else:
                        dec = ("ship_replacement", None, None)
                else:
                    dec = ("waiting", None, None)
                decisions[cid] = dec
                if dec[0] == "ship_replacement":
                    if (cid, "fulfillment") not in self.actions:
                        a = dict(action="ship_replacement", issued_at=D, run=run_no, received_sn=checkin["serial"], received_at=checkin["at"])
                        self.actions[(cid, "fulfillment")] = a
                        emitted.append((cid, "ship_replacement", None, None))
                elif dec[0] == "nonconforming" and (cid, "fulfillment") in self.actions:
                    self.exc_add(seen, "ACTION_CONFLICT", cid)
                continue
            # premium
            state = None
            reminder = False
            if checkin:
                if nonconf:
                    dec = ("capture", nonconf[0])
                elif timely:
                    dec = ("release", "RETURNED")
                else:
                    dec = (p.late_return, "LATE_RETURN")
            elif delivered is not None:
                if not timely and p.late_return == "capture":
                    dec = ("capture", "LATE_RETURN")
                else:
                    dec = ("pending", None)
                    state = "awaiting_checkin"
            else:
                if D <= deadline:
                    dec = ("pending", None)
                    state = "pending"
                    reminder = shipped is None and (D - paid) > dt.timedelta(days=p.ship_reminder_days)
                elif shipped is not None and shipped <= deadline and D <= grace_end:
                    dec = ("pending", None)
                    state = "in_transit"
                else:
                    dec = ("capture", "NOT_RETURNED")
            vd = p.auth_validity_days.get(brand) if brand is not None else None
            hold_exp = paid + dt.timedelta(days=vd) if vd is not None else None
            pa = self.actions.get((cid, "payment"))
            if dec[0] == "pending":
                if state == "awaiting_checkin" and (D - delivered) > dt.timedelta(days=p.checkin_sla_days):
                    self.exc_add(seen, "AWAITING_CHECKIN", cid)
                limit = grace_end if (shipped is not None and shipped <= deadline) else deadline
                if hold_exp is not None and hold_exp < limit and (pa is None or pa["issued_at"] > D):
                    self.exc_add(seen, "AUTH_EXPIRES_BEFORE_DEADLINE", cid)
                decisions[cid] = ("pending", None, state, reminder)
                continue
            amount = min(c["preauth_amount"], c["product_value"]) if dec[0] == "capture" else c["preauth_amount"]
            decisions[cid] = (dec[0], dec[1], amount)
            if pa is None:
                self.actions[(cid, "payment")] = dict(action=dec[0], reason=dec[1], amount=amount, currency=c["currency"], issued_at=D, run=run_no, psp=c["preauth_ref"])
                emitted.append((cid, dec[0], dec[1], amount))
                if dec[0] == "capture" and hold_exp is not None and D > hold_exp:
                    self.exc_add(seen, "AUTH_EXPIRED", cid)
            elif pa["action"] != dec[0] and not (backfill and pa["issued_at"] > D):
                self.exc_add(seen, "ACTION_CONFLICT", cid)
        # settlements
        self.settle(D, seen)
        # exception lifecycle
        for k in seen:
            if backfill and k[0] in WAITING and k in self.exc:
                continue
            self.exc[k] = "open"
        for k, st in list(self.exc.items()):
            if backfill:
                break
            if k[0] in WAITING and k not in seen and st == "open":
                self.exc[k] = "resolved"
        res = dict(decisions=decisions, emitted=emitted, exc=dict(self.exc), seen=seen)
        self.night_results.append(res)
        return res

    def settle(self, D, seen):
        p = self.p
        by_psp = {}
        for c in self.claims:
            if (c["preauth_ref"] or "").strip():
                by_psp.setdefault(c["preauth_ref"].strip(), c)
        rows = sorted([r for r in self.settlements if r["booked_at"] <= D], key=lambda r: (r["booked_at"], r["file"], r["line"]))
        cap_seen = {}
        confirmed = set()
        for r in rows:
            subj = f"{r['file']}:{r['line']}"
            c = None
            if not (r["psp"] or "").strip() and not (r["merchant"] or "").strip():
                continue  # rejected row (MISSING_FIELD)
            if r["psp"] and r["psp"].strip() in by_psp:
                c = by_psp[r["psp"].strip()]
            elif r["merchant"] and r["merchant"].strip().lower() in self.by_id:
                c = self.by_id[r["merchant"].strip().lower()]
            if c is None:
                self.exc_add(seen, "UNMATCHED_SETTLEMENT", subj)
                continue
            cid = c["claim_id"]
            # taken by its psp reference while its merchant reference names
            # another claim, on another hold: carerecon's REFERENCE_MISMATCH
            m = (r["merchant"] or "").strip().lower()
            if (m in self.by_id and self.by_id[m]["claim_id"] != cid
                    and (self.by_id[m]["preauth_ref"] or "").strip() != (r["psp"] or "").strip()):
                self.exc_add(seen, "REFERENCE_MISMATCH", subj)
            pa = self.actions.get((cid, "payment"))
            if pa is not None and pa["issued_at"] > r["booked_at"]:
                pa_now = None  # not yet issued when the row was booked
            else:
                pa_now = pa
            t = r["type"]
            if t == "capture":
                if pa_now and pa_now["action"] == "capture":
                    if cap_seen.get(cid):
                        self.exc_add(seen, "DUPLICATE_CAPTURE", subj)
                    elif r["currency"] != pa_now["currency"]:
                        self.exc_add(seen, "CURRENCY_MISMATCH", subj)
                    elif r["amount"] != pa_now["amount"]:
                        self.exc_add(seen, "SETTLEMENT_AMOUNT_MISMATCH", subj)
                    else:
                        pass
                    confirmed.add((cid, "capture"))
                    cap_seen[cid] = True
                elif pa_now and pa_now["action"] == "release":
                    self.exc_add(seen, "CAPTURED_AFTER_RELEASE", subj)
                else:
                    self.exc_add(seen, "UNEXPECTED_CAPTURE", subj)
                cap_seen[cid] = True
            elif t == "release":
                if pa_now and pa_now["action"] == "release":
                    confirmed.add((cid, "release"))
                else:
                    self.exc_add(seen, "UNEXPECTED_RELEASE", subj)
            elif t == "expired":
                if pa_now is None or pa_now["action"] == "capture":
                    self.exc_add(seen, "PREAUTH_EXPIRED_AT_PROCESSOR", subj)
            elif t == "fee":
                if r["amount"] != c["service_fee"] or r["currency"] != c["currency"]:
                    self.exc_add(seen, "FEE_MISMATCH", subj)
            elif t == "chargeback":
                self.exc_add(seen, "CHARGEBACK", subj)
            rb = {"mc": "mastercard"}.get((r["brand"] or "").strip().lower(), (r["brand"] or "").strip().lower())
            if rb and c["card_brand"] and rb != c["card_brand"].strip().lower():
                self.exc_add(seen, "CARD_MISMATCH", subj)
        for (cid, kind), a in self.actions.items():
            if kind != "payment":
                continue
            if (cid, a["action"]) not in confirmed and D - a["issued_at"] > dt.timedelta(days=p.settlement_confirm_days):
                self.exc_add(seen, "UNCONFIRMED_ACTION", cid)
