"""Role checks. Roles are auth groups holding model permissions (annotator.roles), so a view
names the permissions each of its actions (or, for a plain APIView, each HTTP method) needs
and the role follows:

- coders: view datasets and clips, change (their own) annotations;
- reviewers: also `adjudicate_annotation` and `view_jobrun`;
- researchers: view the corpus, `export_dataset`, view training runs and model versions;
- admins: every annotator permission (upload, reprocess, train, activate model versions, read
  proposals, import, export).

An action a view does not list is refused, so a new action is closed until someone opens it.
"""

from rest_framework.permissions import BasePermission
from rest_framework.viewsets import ViewSetMixin


class ActionPermissions(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(view, ViewSetMixin):
            if view.action is None:  # a method the viewset does not offer: let DRF answer 405
                return True
            key = view.action
        else:
            key = request.method.lower()
        required = view.required_perms.get(key)
        return required is not None and user.has_perms(required)
