"""The rule IDs of the process (docs/rules.md), each with a one-line title: the names
code, tests and docs point at. ``tests/test_rule_coverage.py`` checks that this list
matches docs/rules.md and that every rule is cited by a test."""

from __future__ import annotations

RULES: dict[str, str] = {
    # Stage A - referral intake (CC Workflow)
    "R01": "A referral carries what ACRO has; reference, name, nationality and a conviction are required",
    "R02": "A certificate is disclosable when requested for immigration/deportation or its offences are on the PNC",
    "R03": "Not disclosable: note CID, ask ACRO again for immigration purposes, destroy it, wait",
    "R04": "Once disclosable: subject (no duplicates), case details, convictions, calendar event, PNC check, paper file",
    "R05": "Restricted step after R04 (withheld section)",
    "R06": "Refer the case to the appropriate CC team (routing table)",
    # Stage B - first actions (CC casework team)
    "R10": "Whereabouts unknown: NBTC checks whether the person has left the UK; known: straight to Stage C",
    "R11": "Left the UK: close with 'ACRO overseas conviction – left UK before deport action'",
    "R12": "Left, and the offences are most serious: exclusion consideration with a senior caseworker",
    "R13": "Likely in the UK: ICD.5079 to the PNC Bureau for a wanted/missing marker",
    "R14": "Refer to ICE through ICE Tasking and the Detention Gatekeeper",
    "R15": "Restricted step after R14 (withheld section)",
    "R16": "Unable to locate: outcome 'liable to deport – PNC updated wanted/missing'; dormant until located",
    # Stage C - person located (case owner)
    "R20": "Allocate to a CC case owner",
    "R21": "Remove the wanted/missing marker with ICD5080, only if one was added",
    "R22": "Consider detention (Stage D)",
    "R23": "Check the full offending history is on the PNC or a usable ACRO certificate is held",
    "R24": "Contact the police investigating officer",
    "R25": "Pending UK prosecutions: nature of the charges, whether police proceed",
    "R26": "Prosecution not pursued or acquittal likely: arrange immigration detention where appropriate",
    "R27": "Prosecution continuing: the case owner decides to proceed now or wait for it",
    "R28": "The pursuit decision records foreign convictions, UK convictions and outstanding law enforcement",
    # Stage D - detention
    "R30": "Detain only on disclosable convictions available to the deciding officer (refused otherwise)",
    "R31": "EEA nationals: regulation 24(1), Immigration (EEA) Regulations 2006",
    "R32": "Non-EEA nationals: paragraph 2, Schedule 3, Immigration Act 1971",
    "R33": "Unsuitable for detention: managed on a non-detained basis",
    # Stage E - deportation consideration
    "R40": "Consideration begins only once the person is located",
    "R41": "Serve a Stage 1 Liability to Deportation Notice (EEA) or Stage 1 Decision Notice (non-EEA)",
    "R42": "Serving a sentence ending after the window: 20 days to respond",
    "R43": "Detained, released or any other case: 10 days; representations end the wait early",
    "R44": "Consideration decision by the case owner under the EEA / non-EEA guidance",
    "R45": "Not detained, decision to deport, address known, no in-country appeal: ask ICE to detain",
    "R46": "Deportation enforced: inform the relevant departments and close",
    "R47": "Decided not to proceed: Stage F",
    # Stage F - deportation not pursued
    "R50": "Submission to the CC Director (SCS PB1) giving the reasons",
    "R51": "Director agrees: consider Removals Casework unless residing lawfully; disagrees: back to Stage E",
    "R52": "Advise ACRO that deportation is not being pursued",
    "R53": "Restricted step after R52 (withheld section)",
    # The Framework Decision (2009/315/JHA)
    "R60": "Personal data is used only for the purpose it was sought for",
    "R61": "A certificate for criminal proceedings is never the basis of a deportation decision",
}

