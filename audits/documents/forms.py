"""Forms of the requests page: asking for documents, uploading them, answering."""

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from audits.documents.services import MAX_DESCRIPTION_LENGTH, MAX_NOTE_LENGTH
from audits.documents.storage import ACCEPTED
from audits.models import RequestKind
from audits.services import MAX_NAME_LENGTH
from registry.fields import DateField
from registry.i18n import _l
from registry.mediators.models import Mediator


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class RequestForm(FlaskForm):
    kind = RadioField(
        _l("What is asked"),
        default=RequestKind.DOCUMENTS.value,
        validators=[DataRequired(message=_l("Choose a document request or a spot check."))],
    )
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Give the request a title.")),
            Length(
                max=MAX_NAME_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_NAME_LENGTH),
            ),
        ],
        filters=[_strip],
        render_kw={"maxlength": MAX_NAME_LENGTH},
    )
    description = TextAreaField(
        _l("What the organisation should send"),
        validators=[
            DataRequired(message=_l("Describe what the organisation should send.")),
            Length(
                max=MAX_DESCRIPTION_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_DESCRIPTION_LENGTH),
            ),
        ],
        description=_l("The organisation's administrators receive this text by e-mail."),
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_DESCRIPTION_LENGTH},
    )
    due_on = DateField(
        _l("Due date"), validators=[DataRequired(message=_l("Choose a due date (YYYY-MM-DD)."))]
    )
    mediator_id = SelectField(
        _l("Mediator (spot check)"),
        coerce=int,
        validate_choice=False,
        description=_l("Whose file is wanted: one of the mediators linked to the program."),
    )

    def __init__(self, *args: object, mediators: list[Mediator], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = {kind.value: kind.label for kind in RequestKind}
        self.mediator_id.choices = {
            0: _("No one in particular"),
            **{mediator.id: f"{mediator.name} ({mediator.public_id})" for mediator in mediators},
        }
        self._offered = {mediator.id for mediator in mediators}

    def validate_mediator_id(self, field: SelectField) -> None:
        if field.data and field.data not in self._offered:
            raise ValidationError(_("Choose one of the program's linked mediators."))


class UploadForm(FlaskForm):
    file = FileField(
        _l("File"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
        render_kw={"accept": ACCEPTED.replace(" ", "")},
    )


class AnswerForm(FlaskForm):
    note = TextAreaField(
        _l("Note to the appraisers (optional)"),
        validators=[
            Length(
                max=MAX_NOTE_LENGTH,
                message=_l("At most %(limit)s characters.", limit=MAX_NOTE_LENGTH),
            ),
        ],
        description=_l("Needed if you send no file: say why."),
        filters=[_strip],
        render_kw={"rows": 2, "maxlength": MAX_NOTE_LENGTH},
    )
