"""Every page of the app, one ``urls.py`` per feature, all under the ``negotiations`` namespace."""

from negotiations.api import urls as api
from negotiations.assessments import urls as assessments
from negotiations.codebook import urls as codebook
from negotiations.coding import urls as coding
from negotiations.consensus import urls as consensus
from negotiations.exports import urls as exports
from negotiations.interchange import urls as interchange
from negotiations.jobs import urls as jobs
from negotiations.members import urls as members
from negotiations.passages import urls as passages
from negotiations.reliability import urls as reliability
from negotiations.sources import urls as sources
from negotiations.studies import urls as studies

app_name = "negotiations"

urlpatterns = [
    *studies.urlpatterns,
    *members.urlpatterns,
    *codebook.urlpatterns,
    *sources.urlpatterns,
    *exports.urlpatterns,
    *interchange.urlpatterns,
    *coding.urlpatterns,
    *reliability.urlpatterns,
    *consensus.urlpatterns,
    *assessments.urlpatterns,
    *api.urlpatterns,
    *passages.urlpatterns,
    *jobs.urlpatterns,
]
