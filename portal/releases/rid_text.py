"""The RID's fixed wording: the sentences every RID says the same way. The release page, the published PDF and
DOCX all read them from here (templates as the global `rid_words`), so the three never drift apart."""
from __future__ import annotations

WORDING: dict[str, str | tuple[str, ...]] = {
    "impacts": ("This section lists the impacts that the changes included in this release will have on participants "
                "and their systems, SEC documents and other industry codes. This section assumes all targeted "
                "modifications will be approved for inclusion in this release."),
    "summaries": ("The impacts on the different participants are summarised below. The business requirements for each "
                  "Modification Proposal are annexed to the Modification Reports for each modification, which are "
                  "available on the corresponding modifications’ webpages."),
    "targeted": ("The following Modification Proposals will be included in this release if a decision to approve is "
                 "received by the respective cut-off dates:"),
    "documents": "The following documents will be updated in this release:",
    "documents_matrix": "Each of these documents is impacted by the following modification(s):",
    "documents_outro": ("The approved changes to each document are annexed to the Modification Reports for each "
                        "modification, which are available on the corresponding modifications’ webpages."),
    "timeline": "This section lists the planned timeline for the implementation of this release.",
    "costs": "This section summarises the costs that will be incurred by the DCC and SECAS in implementing this release.",
    "criteria": ("The following criteria will need to be met before the release can go live.",
                 "Prior to go-live, the Operations Group will review the status of the release against these criteria. "
                 "It will provide a recommendation to the Panel on whether to implement the release as planned. The "
                 "Panel will review these recommendations and will determine then if the release should or shouldn’t "
                 "be implemented as planned."),
    "glossary": ("This table lists all the acronyms used in this document and the full term they are an abbreviation "
                 "for."),
}
