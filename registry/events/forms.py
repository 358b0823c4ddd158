"""The event log's filter form (a GET form: nothing changes, so no CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = SelectField("Action", choices=[], validate_choice=True, validators=[Optional()])
    actor = EmailField("Done by (e-mail)", validators=[Optional(), Length(max=254)])
    subject_type = StringField("Subject type", validators=[Optional(), Length(max=40)])
    subject_id = StringField("Subject id", validators=[Optional(), Length(max=64)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100_000)])

    def __init__(self, *args: object, actions: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [("", "Any action"), *((a, a) for a in actions)]

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")
