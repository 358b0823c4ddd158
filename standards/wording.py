"""The registry's own wording of its first standards, in every language.

The first versions (migration 0019) hold the criteria and rules the registry applied before
standards were published, in the registry's words, so the catalogues translate them: a rule,
title or purpose whose text is one of these reads in the page's language. Everything a
taskforce writes afterwards is shown as written, like any other text people enter.
"""

from flask_babel import gettext


def N_(text: str) -> str:
    return text


FIRST_WORDING = frozenset(
    {
        # Titles and purposes.
        N_("Competent Mediator Training Program criteria"),
        N_("What a training program must show to be recognised and to stay recognised."),
        N_("Qualifying Assessment Program criteria"),
        N_("What an assessment program must show to qualify mediators for certification."),
        N_("Mediation Advocacy specialisation criteria"),
        N_("What a Mediation Advocacy QAP assesses beyond the QAP criteria."),
        N_("Intercultural specialisation criteria"),
        N_("What an Intercultural QAP assesses beyond the QAP criteria."),
        N_("Online Dispute Resolution specialisation criteria"),
        N_("What an Online Dispute Resolution QAP assesses beyond the QAP criteria."),
        N_("General rules for recognised programs"),
        N_("The rules every recognised program follows, whatever its type."),
        N_("Code of conduct for appraisers"),
        N_("How appraisers behave when they appraise a program for the registry."),
        N_("The rules the registry applied when its standards were first published."),
        # CMTP-1 to CMTP-7.
        N_("Published learning outcomes cover the registry's competency criteria"),
        N_("At least 40 hours of training, half of it skills practice and role play"),
        N_("Trainers are experienced mediators with recorded qualifications"),
        N_("Each trainee's performance is assessed and the result is recorded"),
        N_("Ethics, the code of conduct and confidentiality are taught"),
        N_("Intercultural awareness and diversity are part of the program"),
        N_("Completion is reported to the registry accurately and on time"),
        # QAP-1 to QAP-7.
        N_("Assessment criteria and the process are published to candidates"),
        N_("Candidates show the required mediation experience, with evidence"),
        N_("Assessors are independent of the candidates they assess"),
        N_("Assessment covers written evidence and an observed performance"),
        N_("Candidates can appeal, and complaints about assessors are handled"),
        N_("Assessment files are kept for audit for at least five years"),
        N_("Results are reported to the registry accurately and on time"),
        # MAQAP-1, ICQAP-1, ODRQAP-1.
        N_("Advocacy competencies are assessed in a mediation"),
        N_("Intercultural competency is assessed with evidence"),
        N_("Online mediation practice and tools are assessed"),
        # GEN-1 to GEN-3.
        N_("The organisation cooperates with audits and answers requests on time"),
        N_("Public information about the program and its recognition is accurate"),
        N_("Records about mediators are kept confidential and secure"),
        # COC-1 to COC-5: the appraisers' code of conduct.
        N_(
            "Has no relationship or activity that prevents an impartial appraisal, and declares"
            " any before the appraisal starts"
        ),
        N_("Avoids any conflict of interest throughout the appraisal"),
        N_("Offers the applicant no expertise, time or side activities during the appraisal"),
        N_("Accepts no gifts, cash or services from the organisation whose program is appraised"),
        N_(
            "Makes only objective findings, on clear evidence and the registry's rules, never on"
            " assumptions"
        ),
    }
)


def translated(text: str) -> str:
    """Return ``text`` in the page's language when it is the registry's own first wording."""
    return gettext(text) if text in FIRST_WORDING else text
