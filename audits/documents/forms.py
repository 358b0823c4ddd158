"""Forms of the requests page: asking for documents, uploading them, answering."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from audits.documents.services import MAX_DESCRIPTION_LENGTH, MAX_NOTE_LENGTH
from audits.documents.storage import ACCEPTED
from audits.models import RequestKind
from audits.services import MAX_NAME_LENGTH
from registry.fields import DateField
from registry.mediators.models import Mediator


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class RequestForm(FlaskForm):
    kind = RadioField(
        "What is asked",
        choices={kind.value: kind.label for kind in RequestKind},
        default=RequestKind.DOCUMENTS.value,
        validators=[DataRequired(message="Choose a document request or a spot check.")],
    )
    title = StringField(
        "Title",
        validators=[
            DataRequired(message="Give the request a title."),
            Length(max=MAX_NAME_LENGTH, message=f"At most {MAX_NAME_LENGTH} characters."),
        ],
        filters=[_strip],
        render_kw={"maxlength": MAX_NAME_LENGTH},
    )
    description = TextAreaField(
        "What the organisation should send",
        validators=[
            DataRequired(message="Describe what the organisation should send."),
            Length(
                max=MAX_DESCRIPTION_LENGTH, message=f"At most {MAX_DESCRIPTION_LENGTH} characters."
            ),
        ],
        description="The organisation's administrators receive this text by e-mail.",
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": MAX_DESCRIPTION_LENGTH},
    )
    due_on = DateField(
        "Due date", validators=[DataRequired(message="Choose a due date (YYYY-MM-DD).")]
    )
    mediator_id = SelectField(
        "Mediator (spot check)",
        coerce=int,
        validate_choice=False,
        description="Whose file is wanted: one of the mediators linked to the program.",
    )

    def __init__(self, *args: object, mediators: list[Mediator], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.mediator_id.choices = {
            0: "No one in particular",
            **{mediator.id: f"{mediator.name} ({mediator.public_id})" for mediator in mediators},
        }
        self._offered = {mediator.id for mediator in mediators}

    def validate_mediator_id(self, field: SelectField) -> None:
        if field.data and field.data not in self._offered:
            raise ValidationError("Choose one of the program's linked mediators.")


class UploadForm(FlaskForm):
    file = FileField(
        "File",
        validators=[FileRequired(message="Choose a file to upload.")],
        render_kw={"accept": ACCEPTED.replace(" ", "")},
    )


class AnswerForm(FlaskForm):
    note = TextAreaField(
        "Note to the appraisers (optional)",
        validators=[
            Length(max=MAX_NOTE_LENGTH, message=f"At most {MAX_NOTE_LENGTH} characters."),
        ],
        description="Needed if you send no file: say why.",
        filters=[_strip],
        render_kw={"rows": 2, "maxlength": MAX_NOTE_LENGTH},
    )
