"""Recording unmasked views of personal data (issue 8, PIPL)."""

from loans.models import Applicant, PersonalDataAccess

IDENTITY_FIELDS = "id_number,mobile"


def record_access(
    *,
    user,
    purpose: str,
    applicant: Applicant | None = None,
    fields: str = IDENTITY_FIELDS,
    row_count: int = 1,
) -> PersonalDataAccess:
    """One audit row: *user* saw *fields* of *applicant* (or of *row_count* exported rows)."""
    return PersonalDataAccess.objects.create(
        user=user, purpose=purpose, applicant=applicant, fields=fields, row_count=row_count
    )
