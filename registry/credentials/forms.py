"""The form of "verify a credential": paste it, or upload the file it came in."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from registry.credentials.verifying import MAX_LENGTH
from registry.i18n import _l


class CredentialForm(FlaskForm):
    token = TextAreaField(
        _l("The credential"),
        validators=[Optional(), Length(max=MAX_LENGTH, message=_l("This is not a credential."))],
        description=_l("Paste the text of the credential (it starts with eyJ)."),
        render_kw={"rows": 6, "spellcheck": "false", "autocomplete": "off"},
    )
    upload = FileField(_l("Or choose its file"), description=_l("A .jwt file, as downloaded here."))

    def credential_text(self) -> str:
        """Return the pasted credential, or the uploaded file's text."""
        if self.upload.data:
            raw = self.upload.data.read(MAX_LENGTH + 1)
            return raw.decode("utf-8", "replace")
        return self.token.data or ""
