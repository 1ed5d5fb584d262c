"""Word lists the demo store draws profiles from (Persian and Latin names,
Iranian provinces and cities, a small catalogue)."""

from __future__ import annotations

PERSIAN_FIRST_FEMALE = ["مریم", "زهرا", "فاطمه", "سارا", "نگار", "لیلا", "شیرین", "مهسا", "الناز", "پریسا",
                        "نازنین", "کیمیا", "یاسمن", "هانیه", "ریحانه", "آزاده", "ستاره", "فرناز"]
PERSIAN_FIRST_MALE = ["علی", "محمد", "رضا", "حسین", "مهدی", "امیر", "سعید", "کامران", "بهرام", "یاسر",
                      "آرش", "کیوان", "پویا", "مجید", "فرهاد", "داریوش", "بابک", "سینا"]
PERSIAN_LAST = ["احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "کاظمی", "رحیمی", "صادقی",
                "نوری", "یزدانی", "شریفی", "قاسمی", "مرادی", "تهرانی", "اصفهانی", "شیرازی", "کرمانی", "نیک‌نام"]
LATIN_FIRST_FEMALE = ["Sara", "Mina", "Nora", "Elena", "Laila", "Dina", "Anna", "Yasmin"]
LATIN_FIRST_MALE = ["Arash", "Daniel", "Omid", "Kian", "Adam", "Navid", "Reza", "David"]
LATIN_LAST = ["Rahimi", "Karimi", "Hosseini", "Smith", "Tehrani", "Nazari", "Bauer", "Moradi"]
COMPANY_WORDS = ["پارس", "آریا", "نوین", "سپهر", "البرز", "کیهان", "Persia Trade", "Zagros", "Caspian", "Kavir"]
COMPANY_KINDS = ["بازرگانی", "صنایع", "گروه", "شرکت", "Co.", "Holding"]

# province -> cities
PROVINCES = {
    "تهران": ["تهران", "شهریار", "اسلامشهر", "ورامین"],
    "اصفهان": ["اصفهان", "کاشان", "نجف‌آباد"],
    "فارس": ["شیراز", "مرودشت", "کازرون"],
    "خراسان رضوی": ["مشهد", "نیشابور", "سبزوار"],
    "آذربایجان شرقی": ["تبریز", "مراغه"],
    "البرز": ["کرج", "فردیس"],
    "خوزستان": ["اهواز", "آبادان", "دزفول"],
    "گیلان": ["رشت", "انزلی", "لاهیجان"],
    "مازندران": ["ساری", "بابل", "آمل"],
    "کرمان": ["کرمان", "رفسنجان"],
    "یزد": ["یزد", "میبد"],
    "قم": ["قم"],
}
PROVINCE_WEIGHTS = [0.32, 0.10, 0.08, 0.09, 0.06, 0.07, 0.06, 0.05, 0.05, 0.04, 0.04, 0.04]
NEIGHBOURHOODS = ["مرکز", "شمال", "جنوب", "شرق", "غرب", "ونک", "سعادت‌آباد", "نارمک", "چهارباغ", "معالی‌آباد"]

OCCUPATIONS = ["مهندس", "پزشک", "معلم", "کارمند", "دانشجو", "آزاد", "مدیر", "هنرمند", "بازنشسته", "برنامه‌نویس"]
EDUCATION = ["diploma", "bachelor", "master", "phd", "none"]
MARITAL = ["single", "married", "divorced", "widowed"]
INCOME_BANDS = ["low", "lower_middle", "middle", "upper_middle", "high"]
LIFESTYLES = ["active", "family", "urban", "traditional", "luxury", "budget"]
INTERESTS = ["sport", "books", "travel", "fashion", "tech", "cooking", "music", "art", "gaming", "home"]

# category -> products
CATALOGUE = {
    "پوشاک": ["پیراهن", "شلوار", "کاپشن", "کفش"],
    "electronics": ["headphones", "charger", "smartwatch", "speaker"],
    "خانه": ["فرش", "ظروف", "روتختی", "چراغ"],
    "beauty": ["perfume", "cream", "shampoo"],
    "کتاب": ["رمان", "کتاب کودک", "آشپزی"],
    "sport": ["dumbbell", "yoga mat", "running shoes"],
}

NOTE_BODIES = {
    "call": ["تماس گرفت و درباره‌ی سفارش قبلی پرسید.", "Called about delivery time; promised an update tomorrow.",
             "پیگیری تلفنی برای تمدید اشتراک باشگاه."],
    "meeting": ["جلسه‌ی حضوری در فروشگاه؛ به محصولات جدید علاقه نشان داد.", "Met at the showroom, wants a quote."],
    "complaint": ["از تأخیر ارسال ناراضی بود.", "Complained that the item arrived damaged."],
    "note": ["مشتری قدیمی؛ ترجیح می‌دهد با پیامک خبر داده شود.", "Prefers email; do not call before 10am.",
             "به تخفیف‌های آخر فصل حساس است."],
}
