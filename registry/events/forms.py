"""The event log's filter form (a GET form: nothing changes, so no CSRF token)."""

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from registry.fields import DateField
from registry.i18n import _l


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False

    # Any action may be asked for (a bookmarked filter may name one not seen yet).
    action = SelectField(_l("Action"), choices=[], validate_choice=False, validators=[Optional()])
    actor = StringField(_l("Done by (e-mail)"), validators=[Optional(), Length(max=254)])
    subject_type = StringField(
        _l("Subject type"),
        validators=[Optional(), Length(max=40)],
        filters=[lambda value: value.strip().lower() if value else value],
    )
    subject_id = StringField(_l("Subject id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    page = IntegerField(
        _l("Page"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("No such page."))],
    )

    def __init__(self, *args: object, actions: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        wanted = self.action.data
        extra = [wanted] if wanted and wanted not in actions else []
        self.action.choices = [("", _("Any action")), *((a, a) for a in [*actions, *extra])]

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end date is before the start date."))
