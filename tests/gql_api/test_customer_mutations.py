"""customerCreate / customerUpdate / customerDelete / customerErase / customerTraitsSet over HTTP."""

import pytest
from sqlalchemy import func, select, text

from domain.db import unit_of_work
from domain.tables import customers, notes, purchases
from gql_api.ids import from_global_id, to_global_id
from tests.gql_api.conftest import graphql
from tests.gql_api.test_recording import RECORD_PURCHASE, _purchase

FIELDS = "customer { id externalId displayName email phone phoneE164 city province staffTraits temperament }"
CREATE = f"mutation C($input: CustomerInput!) {{ customerCreate(input: $input) {{ {FIELDS} " \
         "userErrors { field code message } } }"
UPDATE = f"mutation U($input: CustomerUpdateInput!) {{ customerUpdate(input: $input) {{ {FIELDS} " \
         "userErrors { field code } } }"
DELETE = "mutation D($input: CustomerIdInput!) { customerDelete(input: $input) { customer { id } userErrors { code } } }"
ERASE = "mutation E($input: CustomerIdInput!) { customerErase(input: $input) { customer { id } userErrors { code } } }"
ONE = "query One($id: ID!) { customer(id: $id) { id } }"
SEARCH = "query S($q: String!) { customers(search: $q) { edges { node { id } } } }"
NOTE = "mutation N($input: NoteCreateInput!) { noteCreate(input: $input) { note { id } } }"


async def _create(http, key, **profile):
    return (await graphql(http, CREATE, key, input=profile))["data"]["customerCreate"]


async def test_create_then_find_by_an_arabic_spelling(http, shop):
    made = await _create(http, shop["agent"], firstName="زهرا", lastName="کیمیاگر", phone="۰۹۱۲ ۱۱۱ ۲۲۳۳",
                         city="شیراز", temperament="WARM", traits=["HESITANT"], externalId="NEW-1")
    assert made["userErrors"] == []
    customer = made["customer"]
    assert customer["phoneE164"] == "+989121112233" and customer["staffTraits"] == ["HESITANT"]
    found = await graphql(http, SEARCH, shop["agent"], q="زهرا كيمياگر")  # Arabic kaf and yeh
    assert found["data"]["customers"]["edges"][0]["node"]["id"] == customer["id"]


async def test_custom_attributes_come_back_as_given_even_past_64_bits(http, shop):
    attributes = {"card": 2**70, "tier": "gold", "visits": [1, 2.5], "vip": True, "note": "مشتری ویژه"}
    made = await graphql(http, "mutation C($input: CustomerInput!) { customerCreate(input: $input) { "
                               "customer { attributes } userErrors { code } } }",
                         shop["agent"], input={"firstName": "Big", "attributes": attributes})
    assert made["data"]["customerCreate"]["customer"]["attributes"] == attributes


@pytest.mark.parametrize(("profile", "field", "code"), [
    ({"kind": "ORGANISATION", "contactPerson": "Ali"}, "companyName", "REQUIRED"),
    ({}, "firstName", "REQUIRED"),
    ({"firstName": "A", "email": "not-an-email"}, "email", "INVALID_EMAIL"),
    ({"firstName": "A", "phone": "12"}, "phone", "INVALID_PHONE"),
    ({"firstName": "A" * 501}, "firstName", "TOO_LONG"),
    ({"firstName": "A", "birthDate": "2999-01-01"}, "birthDate", "INVALID_DATE"),
    ({"firstName": "A", "attributes": [1, 2]}, "attributes", "INVALID"),
    ({"firstName": "A", "externalId": "NEW-1"}, "externalId", "TAKEN"),
])
async def test_bad_profiles_get_typed_errors_and_store_nothing(http, engine, shop, profile, field, code):
    async with unit_of_work(engine) as conn:
        before = await conn.scalar(select(func.count()).where(customers.c.workspace_id == shop["workspace"].id))
    result = await _create(http, shop["agent"], **profile)
    assert result["customer"] is None and [(e["field"], e["code"]) for e in result["userErrors"]] == [([field], code)]
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.count()).where(customers.c.workspace_id == shop["workspace"].id)) == before


async def test_update_changes_only_what_is_given(http, shop):
    made = (await _create(http, shop["agent"], firstName="Omid", email="omid@example.com", city="Tabriz"))["customer"]
    moved = await graphql(http, UPDATE, shop["agent"], input={"id": made["id"], "profile": {"city": "Karaj"}})
    customer = moved["data"]["customerUpdate"]["customer"]
    assert (customer["city"], customer["email"], customer["displayName"]) == ("Karaj", "omid@example.com", "Omid")
    cleared = await graphql(http, UPDATE, shop["agent"], input={"id": made["id"], "profile": {"email": None,
                                                                                            "traits": ["BARGAINER"]}})
    customer = cleared["data"]["customerUpdate"]["customer"]
    assert customer["email"] is None and customer["staffTraits"] == ["BARGAINER"]
    refused = await graphql(http, UPDATE, shop["agent"], input={"id": made["id"], "profile": {"firstName": None}})
    assert refused["data"]["customerUpdate"]["userErrors"] == [{"field": ["firstName"], "code": "REQUIRED"}]


FULL_PROFILE = {"externalId": "FULL-1", "kind": "INDIVIDUAL", "firstName": "Sara", "lastName": "Ahmadi",
                "companyName": "Kooch", "contactPerson": "Reza", "registrationNumber": "10101",
                "email": "sara@example.com", "phone": "0912 345 6789", "birthDate": "1990-05-06", "gender": "FEMALE",
                "occupation": "teacher", "maritalStatus": "married", "education": "master", "incomeBand": "high",
                "province": "Tehran", "city": "Tehran", "neighbourhood": "Tajrish", "interests": ["books"],
                "lifestyle": "urban", "temperament": "WARM", "traits": ["HESITANT"], "tags": ["vip"],
                "lifecycleStage": "ACTIVE", "consentSms": True, "consentEmail": False, "consentPush": True,
                "attributes": {"tier": "gold"}}
# A second value for each field, and the columns it sets.
CHANGES = {"externalId": ("FULL-2", ["external_id"]), "kind": ("ORGANISATION", ["kind"]),
           "firstName": ("Sima", ["first_name"]), "lastName": ("Karimi", ["last_name"]),
           "companyName": ("Safar", ["company_name"]), "contactPerson": ("Ali", ["contact_person"]),
           "registrationNumber": ("20202", ["registration_number"]), "email": ("sima@example.com", ["email"]),
           "phone": ("09351234567", ["phone", "phone_e164"]), "birthDate": ("1991-01-02", ["birth_date"]),
           "gender": ("MALE", ["gender"]), "occupation": ("nurse", ["occupation"]),
           "maritalStatus": ("single", ["marital_status"]), "education": ("phd", ["education"]),
           "incomeBand": ("low", ["income_band"]), "province": ("Fars", ["province"]), "city": ("Shiraz", ["city"]),
           "neighbourhood": ("Zand", ["neighbourhood"]), "interests": (["music"], ["interests"]),
           "lifestyle": ("rural", ["lifestyle"]), "temperament": ("SERIOUS", ["temperament"]),
           "traits": (["BARGAINER"], ["staff_traits"]), "tags": (["new"], ["tags"]),
           "lifecycleStage": ("LOYAL", ["lifecycle_stage"]), "consentSms": (False, ["consent_sms"]),
           "consentEmail": (True, ["consent_email"]), "consentPush": (False, ["consent_push"]),
           "attributes": ({"tier": "silver"}, ["attributes"])}
# What every update rewrites besides the fields it names.
DERIVED = {"updated_at", "search_text"}


async def _stored(engine, pk: int) -> dict:
    async with unit_of_work(engine) as conn:
        return dict((await conn.execute(select(customers).where(customers.c.id == pk))).one()._mapping)


def test_every_profile_field_has_a_change():
    assert set(CHANGES) == set(FULL_PROFILE)


@pytest.mark.parametrize("field", sorted(CHANGES))
async def test_an_update_of_one_field_changes_that_field_alone(http, engine, shop, field):
    made = await _create(http, shop["agent"], **FULL_PROFILE | {"externalId": f"FULL-{field}"})
    assert made["userErrors"] == [], made
    pk = from_global_id(made["customer"]["id"], "Customer")
    before = await _stored(engine, pk)
    value, columns = CHANGES[field]
    changed = await graphql(http, UPDATE, shop["agent"], input={"id": made["customer"]["id"],
                                                                "profile": {field: value}})
    assert changed["data"]["customerUpdate"]["userErrors"] == [], changed
    after = await _stored(engine, pk)
    moved = {column for column in before if before[column] != after[column]} - DERIVED
    assert moved == set(columns), (field, {c: (before[c], after[c]) for c in moved})


async def test_an_update_leaves_a_stored_phone_as_it_is(http, engine, shop):
    """The demo store (and imports of old) hold phones today's validation would
    read differently; an edit of something else must not rewrite them."""
    made = (await _create(http, shop["agent"], firstName="Old", phone="09121234567"))["customer"]
    pk = from_global_id(made["id"], "Customer")
    async with unit_of_work(engine) as conn:
        await conn.execute(customers.update().where(customers.c.id == pk)
                           .values(phone="0921631713", phone_e164="+98921631713"))
    moved = await graphql(http, UPDATE, shop["agent"], input={"id": made["id"], "profile": {"city": "Karaj"}})
    assert moved["data"]["customerUpdate"]["userErrors"] == []
    stored = await _stored(engine, pk)
    assert (stored["phone"], stored["phone_e164"], stored["city"]) == ("0921631713", "+98921631713", "Karaj")


@pytest.mark.parametrize(("phone", "why"), [("0912345", "no valid prefix or length for IR"),
                                            ("0921631713", "no valid prefix or length for IR"),
                                            ("+98 912 345 678 901", "too long"), ("12", "too short")])
async def test_a_phone_must_be_a_valid_number_and_the_error_says_why(http, shop, phone, why):
    refused = await _create(http, shop["agent"], firstName="A", phone=phone)
    assert refused["customer"] is None and refused["userErrors"][0]["code"] == "INVALID_PHONE"
    assert why in refused["userErrors"][0]["message"], refused


async def test_delete_hides_and_only_admins_may(http, shop):
    made = (await _create(http, shop["agent"], firstName="Temp"))["customer"]
    denied = await graphql(http, DELETE, shop["agent"], input={"id": made["id"]})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await graphql(http, DELETE, shop["admin"], input={"id": made["id"]}))["data"]["customerDelete"][
        "userErrors"] == []
    assert (await graphql(http, ONE, shop["admin"], id=made["id"]))["data"]["customer"] is None
    again = await graphql(http, DELETE, shop["admin"], input={"id": made["id"]})
    assert again["data"]["customerDelete"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_erase_removes_personal_data_and_notes_but_keeps_anonymous_history(http, engine, shop):
    made = (await _create(http, shop["agent"], firstName="Private", lastName="Person", email="p@example.com",
                          phone="09121234567", externalId="ERASE-ME"))["customer"]
    await graphql(http, RECORD_PURCHASE, shop["admin"], input=_purchase(made["id"]))
    await graphql(http, NOTE, shop["agent"], input={"customerId": made["id"], "body": "lives at ..."})
    erased = await graphql(http, ERASE, shop["admin"], input={"id": made["id"]})
    assert erased["data"]["customerErase"]["userErrors"] == []
    pk = from_global_id(made["id"], "Customer")
    async with unit_of_work(engine) as conn:
        row = (await conn.execute(select(customers).where(customers.c.id == pk))).one()
        kept = await conn.scalar(select(func.count()).where(purchases.c.customer_id == pk))
        left = await conn.scalar(select(func.count()).where(notes.c.customer_id == pk))
    assert (row.first_name, row.last_name, row.email, row.phone, row.external_id, row.search_text) == \
        (None, None, None, None, None, "")
    assert row.erased_at is not None and row.deleted_at is not None
    assert kept == 1 and left == 0


TRAITS = ("mutation T($input: CustomerTraitsInput!) { customerTraitsSet(input: $input) { customer { "
          "staffTraits temperament traits scores { inferredTraits } } userErrors { field code } } }")


async def test_staff_traits_win_over_inferred_ones_until_cleared(http, engine, shop):
    async with unit_of_work(engine) as conn:  # a customer scoring inferred with some trait
        pk = await conn.scalar(text("SELECT customer_id FROM customer_scores WHERE workspace_id = :w "
                                    "AND cardinality(inferred_traits) > 0 ORDER BY customer_id LIMIT 1"),
                               {"w": shop["workspace"].id})
    customer_id = to_global_id("Customer", pk)
    set_ = (await graphql(http, TRAITS, shop["agent"], input={"id": customer_id, "traits": ["FAULT_FINDER"],
                                                              "temperament": "WARM"}))["data"]["customerTraitsSet"]
    assert set_["userErrors"] == [] and set_["customer"]["traits"] == ["FAULT_FINDER"]
    assert set_["customer"]["temperament"] == "WARM" and set_["customer"]["scores"]["inferredTraits"]
    kept = (await graphql(http, TRAITS, shop["agent"], input={"id": customer_id, "traits": []}))["data"][
        "customerTraitsSet"]["customer"]
    assert kept["staffTraits"] == [] and kept["temperament"] == "WARM"  # left out: unchanged
    assert kept["traits"] == kept["scores"]["inferredTraits"]
    wrong = await graphql(http, TRAITS, shop["agent"], input={"id": customer_id, "traits": ["GRUMPY"]})
    assert "GRUMPY" in wrong["errors"][0]["message"]


async def test_custom_attributes_nest_at_most_a_few_levels(http, shop):
    nested: dict = {"leaf": 1}
    for _ in range(7):
        nested = {"in": nested}
    fine = await _create(http, shop["agent"], firstName="Deep", attributes=nested)
    assert fine["userErrors"] == []
    for _ in range(900):
        nested = {"in": nested}
    refused = await _create(http, shop["agent"], firstName="Deeper", attributes=nested)
    assert refused["customer"] is None and refused["userErrors"][0]["field"] == ["attributes"]
    assert "at most 8 levels" in refused["userErrors"][0]["message"]


@pytest.mark.parametrize(("typed", "stored"), [("1370-01-01", "1991-03-21"), ("۱۳۷۰/۰۱/۰۱", "1991-03-21"),
                                               ("1369-12-29", "1991-03-20"), ("1991/03/21", "1991-03-21")])
async def test_birth_dates_are_read_gregorian_or_jalali_in_any_digits(http, shop, typed, stored):
    made = await graphql(http, "mutation($input: CustomerInput!) { customerCreate(input: $input) { "
                               "customer { birthDate } userErrors { field code message } } }",
                         shop["agent"], input={"firstName": "Jalali", "birthDate": typed})
    assert made["data"]["customerCreate"] == {"customer": {"birthDate": stored}, "userErrors": []}, made


async def test_a_date_that_is_neither_says_which_forms_are_read(http, shop):
    refused = await graphql(http, "mutation($input: CustomerInput!) { customerCreate(input: $input) { "
                                  "customer { id } } }", shop["agent"],
                            input={"firstName": "Bad", "birthDate": "1370-07-31"})
    assert "1370-07-31 is not a Jalali date" in refused["errors"][0]["message"], refused
    unread = await graphql(http, "mutation($input: CustomerInput!) { customerCreate(input: $input) { "
                                 "customer { id } } }", shop["agent"],
                           input={"firstName": "Bad", "birthDate": "21.3.91"})
    assert "Gregorian (1991-03-21) or Jalali (1370-01-01)" in unread["errors"][0]["message"], unread


async def test_a_form_hears_of_every_bad_field_at_once(http, engine, shop):
    async with unit_of_work(engine) as conn:
        before = await conn.scalar(select(func.count()).where(customers.c.workspace_id == shop["workspace"].id))
    made = await _create(http, shop["agent"], firstName="Forms", email="not-an-email", phone="12",
                         birthDate="2999-01-01", gender="FEMALE", attributes=[1])
    assert made["customer"] is None
    assert sorted((e["field"][0], e["code"]) for e in made["userErrors"]) == [
        ("attributes", "INVALID"), ("birthDate", "INVALID_DATE"), ("email", "INVALID_EMAIL"),
        ("phone", "INVALID_PHONE")]
    async with unit_of_work(engine) as conn:
        assert await conn.scalar(select(func.count()).where(customers.c.workspace_id == shop["workspace"].id)) == before
