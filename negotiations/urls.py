"""Every page of the app, one ``urls.py`` per feature, all under the ``negotiations`` namespace."""

from negotiations.assessments import urls as assessments
from negotiations.codebook import urls as codebook
from negotiations.coding import urls as coding
from negotiations.consensus import urls as consensus
from negotiations.exports import urls as exports
from negotiations.jobs import urls as jobs
from negotiations.reliability import urls as reliability
from negotiations.sources import urls as sources
from negotiations.studies import urls as studies

app_name = "negotiations"

urlpatterns = [
    *studies.urlpatterns,
    *codebook.urlpatterns,
    *sources.urlpatterns,
    *exports.urlpatterns,
    *coding.urlpatterns,
    *reliability.urlpatterns,
    *consensus.urlpatterns,
    *assessments.urlpatterns,
    *jobs.urlpatterns,
]
