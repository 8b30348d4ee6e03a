from django.urls import path

from campaigns.apis import (
    BrandCampaignDetailApi,
    BrandCampaignListApi,
    BrandCampaignStatsApi,
    BrandCampaignStatusApi,
    BrandLocationDetailApi,
    BrandLocationListApi,
    BrandParticipationListApi,
    CampaignDetailApi,
    CampaignJoinApi,
    CampaignNearApi,
    CampaignSubmissionApi,
    MyParticipationListApi,
)

urlpatterns = [
    # Brands: their own brands' campaigns.
    path("brand/campaigns", BrandCampaignListApi.as_view(), name="brand-campaigns"),
    path("brand/campaigns/<int:campaign_id>", BrandCampaignDetailApi.as_view(), name="brand-campaign"),
    path("brand/campaigns/<int:campaign_id>/status", BrandCampaignStatusApi.as_view(), name="brand-campaign-status"),
    path("brand/campaigns/<int:campaign_id>/locations", BrandLocationListApi.as_view(), name="brand-locations"),
    path(
        "brand/campaigns/<int:campaign_id>/locations/<int:location_id>",
        BrandLocationDetailApi.as_view(),
        name="brand-location",
    ),
    path("brand/campaigns/<int:campaign_id>/stats", BrandCampaignStatsApi.as_view(), name="brand-campaign-stats"),
    path(
        "brand/campaigns/<int:campaign_id>/participations",
        BrandParticipationListApi.as_view(),
        name="brand-participations",
    ),
    # Creators.
    path("campaigns/near", CampaignNearApi.as_view(), name="campaigns-near"),
    path("campaigns/<int:campaign_id>", CampaignDetailApi.as_view(), name="campaign"),
    path("campaigns/<int:campaign_id>/join", CampaignJoinApi.as_view(), name="campaign-join"),
    path("campaigns/<int:campaign_id>/submission", CampaignSubmissionApi.as_view(), name="campaign-submission"),
    path("me/participations", MyParticipationListApi.as_view(), name="my-participations"),
]
