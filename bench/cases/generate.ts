/**
 * Realistic, deterministic case repositories for the case-search benchmark: 20 hubs (training
 * centres in East and West Africa, the Sahel, North Africa, the Middle East, Central and East Asia,
 * Geneva), each writing its cases in its own mix of English, French, Arabic, Russian and Chinese; a
 * small competency tree (use of force, detention, human rights, investigations, border management,
 * gender and GBV, community policing) with a few sub-competencies; titles, summaries and Markdown
 * bodies written from each language's own security-sector training vocabulary (Russian phrases in the
 * nominative and the genitive, as the sentences need them; Arabic with its article and clitics as
 * written); kinds, review states, visibility, countries, subdivisions and region names, tags,
 * evidence links. Every case is checked by the node's own validateCase.
 */
import { CASE_KINDS, validateCase, type CaseKind, type CaseRecord, type RawCase } from "../../node/cases/index.js";
import type { CompetencyTree } from "../../node/query/index.js";
import { Random } from "../lib/random.js";
import type { CaseFilters } from "../../node/cases/search.js";

export type { CaseFilters };

export const LANGUAGES = ["en", "fr", "ar", "ru", "zh"] as const;
export type Language = (typeof LANGUAGES)[number];

// ---------------------------------------------------------------------------------------------
// the competency tree

/** Item → parents (roots have none). det-2.1 (torture prevention) also sits under hr-1 (monitoring). */
const PARENTS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["uof", []],
  ["uof-1", ["uof"]],
  ["uof-2", ["uof"]],
  ["uof-3", ["uof"]],
  ["det", []],
  ["det-1", ["det"]],
  ["det-2", ["det"]],
  ["det-2.1", ["det-2", "hr-1"]],
  ["hr", []],
  ["hr-1", ["hr"]],
  ["hr-2", ["hr"]],
  ["int", []],
  ["int-1", ["int"]],
  ["int-2", ["int"]],
  ["bor", []],
  ["bor-1", ["bor"]],
  ["bor-1.1", ["bor-1"]],
  ["bor-2", ["bor"]],
  ["gbv", []],
  ["gbv-1", ["gbv"]],
  ["gbv-1.1", ["gbv-1"]],
  ["gbv-2", ["gbv"]],
  ["pol", []],
  ["pol-1", ["pol"]],
];

export interface Framework {
  items: string[];
  domains: string[];
  tree: CompetencyTree;
}

export function makeFramework(): Framework {
  const parents = new Map(PARENTS.map(([item, list]) => [item, [...list]]));
  return {
    items: [...parents.keys()],
    domains: PARENTS.filter(([, p]) => p.length === 0).map(([item]) => item),
    tree: { parents: (c) => parents.get(c) ?? [] },
  };
}

// ---------------------------------------------------------------------------------------------
// hubs

export interface Hub {
  index: number;
  id: string;
  country: string;
  /** Free-text region name, as hubs write it. */
  region: string;
  /** The languages the hub writes its cases in, with weights. */
  languages: ReadonlyArray<readonly [Language, number]>;
}

const HUBS: ReadonlyArray<Omit<Hub, "index">> = [
  {
    id: "nairobi-ptc",
    country: "KE",
    region: "East Africa",
    languages: [
      ["en", 85],
      ["fr", 5],
      ["ar", 10],
    ],
  },
  { id: "kampala-ptc", country: "UG", region: "East Africa", languages: [["en", 100]] },
  {
    id: "kigali-police-academy",
    country: "RW",
    region: "East Africa",
    languages: [
      ["en", 60],
      ["fr", 40],
    ],
  },
  {
    id: "accra-ptc",
    country: "GH",
    region: "West Africa",
    languages: [
      ["en", 80],
      ["fr", 20],
    ],
  },
  { id: "abuja-police-college", country: "NG", region: "West Africa", languages: [["en", 100]] },
  {
    id: "dakar-ecole-police",
    country: "SN",
    region: "West Africa",
    languages: [
      ["fr", 90],
      ["en", 10],
    ],
  },
  { id: "abidjan-ecole-police", country: "CI", region: "West Africa", languages: [["fr", 100]] },
  {
    id: "bamako-emp",
    country: "ML",
    region: "Sahel",
    languages: [
      ["fr", 85],
      ["ar", 15],
    ],
  },
  {
    id: "yaounde-centre-formation",
    country: "CM",
    region: "Central Africa",
    languages: [
      ["fr", 70],
      ["en", 30],
    ],
  },
  {
    id: "rabat-institut-police",
    country: "MA",
    region: "North Africa",
    languages: [
      ["ar", 55],
      ["fr", 45],
    ],
  },
  {
    id: "tunis-ecole-securite",
    country: "TN",
    region: "North Africa",
    languages: [
      ["ar", 60],
      ["fr", 40],
    ],
  },
  {
    id: "amman-police-academy",
    country: "JO",
    region: "Middle East",
    languages: [
      ["ar", 80],
      ["en", 20],
    ],
  },
  {
    id: "cairo-training-centre",
    country: "EG",
    region: "Middle East",
    languages: [
      ["ar", 70],
      ["en", 20],
      ["fr", 10],
    ],
  },
  {
    id: "beirut-isf-academy",
    country: "LB",
    region: "Middle East",
    languages: [
      ["ar", 60],
      ["fr", 25],
      ["en", 15],
    ],
  },
  {
    id: "bishkek-academy",
    country: "KG",
    region: "Central Asia",
    languages: [
      ["ru", 90],
      ["en", 10],
    ],
  },
  {
    id: "almaty-academy",
    country: "KZ",
    region: "Central Asia",
    languages: [
      ["ru", 85],
      ["en", 15],
    ],
  },
  { id: "dushanbe-academy", country: "TJ", region: "Central Asia", languages: [["ru", 100]] },
  {
    id: "langfang-ptc",
    country: "CN",
    region: "East Asia",
    languages: [
      ["zh", 85],
      ["en", 15],
    ],
  },
  { id: "kunming-police-college", country: "CN", region: "East Asia", languages: [["zh", 100]] },
  {
    id: "geneva-ssr-centre",
    country: "CH",
    region: "Europe",
    languages: [
      ["en", 40],
      ["fr", 20],
      ["ar", 15],
      ["ru", 15],
      ["zh", 10],
    ],
  },
];

export const HUB_COUNT = HUBS.length;

export function makeHubs(): Hub[] {
  return HUBS.map((h, index) => ({ ...h, index }));
}

/** Synthetic ISO 3166-2 subdivisions of a country (CC-01 … CC-06). */
export function subdivisions(country: string): string[] {
  return Array.from({ length: 6 }, (_, i) => `${country}-${String(i + 1).padStart(2, "0")}`);
}

// ---------------------------------------------------------------------------------------------
// vocabulary

/** A noun phrase as sentences need it: Russian declines it (nominative, genitive); elsewhere both are the same. */
interface Phrase {
  nom: string;
  gen: string;
}

interface Topic {
  slug: string;
  competency: string;
  phrases: Record<Exclude<Language, "ru">, readonly string[]> & { ru: ReadonlyArray<readonly [string, string]> };
  tags: Record<Language, readonly [string, string]>;
}

const TOPICS: readonly Topic[] = [
  {
    slug: "deescalation",
    competency: "uof-1",
    phrases: {
      en: ["de-escalation", "use of force", "verbal de-escalation techniques"],
      fr: ["la désescalade", "le recours à la force", "les techniques de désescalade verbale"],
      ar: ["خفض التصعيد", "استخدام القوة", "تقنيات التهدئة اللفظية"],
      ru: [
        ["деэскалация", "деэскалации"],
        ["применение силы", "применения силы"],
        ["вербальная деэскалация", "вербальной деэскалации"],
      ],
      zh: ["降级处置", "使用武力", "言语降级技巧"],
    },
    tags: {
      en: ["use of force", "de-escalation"],
      fr: ["recours à la force", "désescalade"],
      ar: ["استخدام القوة", "خفض التصعيد"],
      ru: ["применение силы", "деэскалация"],
      zh: ["使用武力", "降级处置"],
    },
  },
  {
    slug: "firearms",
    competency: "uof-2",
    phrases: {
      en: ["firearms", "proportionality in the use of firearms", "lethal force"],
      fr: ["les armes à feu", "la proportionnalité dans l'usage des armes à feu", "la force létale"],
      ar: ["الأسلحة النارية", "التناسب في استخدام الأسلحة النارية", "القوة المميتة"],
      ru: [
        ["огнестрельное оружие", "огнестрельного оружия"],
        ["соразмерность применения оружия", "соразмерности применения оружия"],
        ["летальная сила", "летальной силы"],
      ],
      zh: ["枪支使用", "使用枪支的相称性", "致命武力"],
    },
    tags: {
      en: ["firearms", "proportionality"],
      fr: ["armes à feu", "proportionnalité"],
      ar: ["الأسلحة النارية", "التناسب"],
      ru: ["оружие", "соразмерность"],
      zh: ["枪支", "相称性"],
    },
  },
  {
    slug: "public-order",
    competency: "uof-3",
    phrases: {
      en: ["crowd management", "public order policing", "policing of demonstrations"],
      fr: ["la gestion des foules", "le maintien de l'ordre", "l'encadrement des manifestations"],
      ar: ["إدارة الحشود", "حفظ النظام العام", "تأمين المظاهرات"],
      ru: [
        ["управление толпой", "управления толпой"],
        ["охрана общественного порядка", "охраны общественного порядка"],
        ["обеспечение безопасности митингов", "обеспечения безопасности митингов"],
      ],
      zh: ["人群管理", "维护公共秩序", "示威活动警务"],
    },
    tags: {
      en: ["public order", "demonstrations"],
      fr: ["maintien de l'ordre", "manifestations"],
      ar: ["النظام العام", "المظاهرات"],
      ru: ["общественный порядок", "митинги"],
      zh: ["公共秩序", "示威"],
    },
  },
  {
    slug: "pretrial-detention",
    competency: "det-1",
    phrases: {
      en: ["pre-trial detention", "detention conditions", "prison overcrowding"],
      fr: ["la détention provisoire", "les conditions de détention", "la surpopulation carcérale"],
      ar: ["الاحتجاز السابق للمحاكمة", "ظروف الاحتجاز", "اكتظاظ السجون"],
      ru: [
        ["предварительное заключение", "предварительного заключения"],
        ["условия содержания", "условий содержания"],
        ["переполненность тюрем", "переполненности тюрем"],
      ],
      zh: ["审前羁押", "羁押条件", "监狱过度拥挤"],
    },
    tags: {
      en: ["detention", "prisons"],
      fr: ["détention", "prisons"],
      ar: ["الاحتجاز", "السجون"],
      ru: ["задержание", "тюрьмы"],
      zh: ["拘留", "监狱"],
    },
  },
  {
    slug: "custody",
    competency: "det-2",
    phrases: {
      en: ["treatment of detainees", "custody records", "rights of persons in custody"],
      fr: ["le traitement des détenus", "les registres de garde à vue", "les droits des personnes gardées à vue"],
      ar: ["معاملة المحتجزين", "سجلات الحجز", "حقوق الأشخاص المحتجزين"],
      ru: [
        ["обращение с задержанными", "обращения с задержанными"],
        ["журнал учёта задержанных", "журнала учёта задержанных"],
        ["права задержанных", "прав задержанных"],
      ],
      zh: ["被拘留者待遇", "羁押记录", "被羁押者的权利"],
    },
    tags: {
      en: ["custody", "detainees"],
      fr: ["garde à vue", "détenus"],
      ar: ["الحجز", "المحتجزون"],
      ru: ["задержанные", "содержание под стражей"],
      zh: ["羁押", "被拘留者"],
    },
  },
  {
    slug: "torture-prevention",
    competency: "det-2.1",
    phrases: {
      en: ["torture prevention", "ill-treatment", "independent monitoring of places of detention"],
      fr: ["la prévention de la torture", "les mauvais traitements", "le contrôle indépendant des lieux de détention"],
      ar: ["منع التعذيب", "سوء المعاملة", "الرقابة المستقلة على أماكن الاحتجاز"],
      ru: [
        ["предупреждение пыток", "предупреждения пыток"],
        ["жестокое обращение", "жестокого обращения"],
        ["независимый мониторинг мест лишения свободы", "независимого мониторинга мест лишения свободы"],
      ],
      zh: ["防止酷刑", "虐待行为", "对拘留场所的独立监督"],
    },
    tags: {
      en: ["torture prevention", "monitoring"],
      fr: ["prévention de la torture", "contrôle"],
      ar: ["منع التعذيب", "الرقابة"],
      ru: ["пытки", "мониторинг"],
      zh: ["酷刑", "监督"],
    },
  },
  {
    slug: "human-rights",
    competency: "hr-1",
    phrases: {
      en: ["human rights", "human rights monitoring", "international human rights standards"],
      fr: [
        "les droits de l'homme",
        "le suivi des droits de l'homme",
        "les normes internationales des droits de l'homme",
      ],
      ar: ["حقوق الإنسان", "رصد حقوق الإنسان", "المعايير الدولية لحقوق الإنسان"],
      ru: [
        ["права человека", "прав человека"],
        ["мониторинг прав человека", "мониторинга прав человека"],
        ["международные стандарты в области прав человека", "международных стандартов в области прав человека"],
      ],
      zh: ["人权", "人权监测", "国际人权标准"],
    },
    tags: {
      en: ["human rights", "standards"],
      fr: ["droits de l'homme", "normes"],
      ar: ["حقوق الإنسان", "المعايير"],
      ru: ["права человека", "стандарты"],
      zh: ["人权", "标准"],
    },
  },
  {
    slug: "oversight",
    competency: "hr-2",
    phrases: {
      en: ["accountability", "police oversight", "complaints against the police"],
      fr: ["la redevabilité", "le contrôle de la police", "les plaintes contre la police"],
      ar: ["المساءلة", "الرقابة على الشرطة", "الشكاوى ضد الشرطة"],
      ru: [
        ["подотчётность", "подотчётности"],
        ["надзор за полицией", "надзора за полицией"],
        ["жалобы на действия полиции", "жалоб на действия полиции"],
      ],
      zh: ["问责", "警务监督", "对警察的投诉"],
    },
    tags: {
      en: ["accountability", "oversight"],
      fr: ["redevabilité", "contrôle externe"],
      ar: ["المساءلة", "الرقابة"],
      ru: ["подотчётность", "надзор"],
      zh: ["问责", "监督机制"],
    },
  },
  {
    slug: "interviewing",
    competency: "int-1",
    phrases: {
      en: ["investigative interviewing", "interviewing suspects", "the PEACE model"],
      fr: ["l'audition d'enquête", "l'audition des suspects", "le modèle PEACE"],
      ar: ["المقابلات الاستقصائية", "استجواب المشتبه بهم", "نموذج PEACE"],
      ru: [
        ["следственное интервьюирование", "следственного интервьюирования"],
        ["допрос подозреваемых", "допроса подозреваемых"],
        ["модель PEACE", "модели PEACE"],
      ],
      zh: ["侦查询问", "讯问犯罪嫌疑人", "PEACE询问模式"],
    },
    tags: {
      en: ["interviewing", "suspects"],
      fr: ["audition", "suspects"],
      ar: ["الاستجواب", "المشتبه بهم"],
      ru: ["допрос", "подозреваемые"],
      zh: ["讯问", "犯罪嫌疑人"],
    },
  },
  {
    slug: "forensics",
    competency: "int-2",
    phrases: {
      en: ["forensic evidence", "crime scene management", "chain of custody"],
      fr: ["la preuve scientifique", "la gestion de la scène de crime", "la chaîne de traçabilité des preuves"],
      ar: ["الأدلة الجنائية", "إدارة مسرح الجريمة", "سلسلة حيازة الأدلة"],
      ru: [
        ["криминалистические доказательства", "криминалистических доказательств"],
        ["осмотр места происшествия", "осмотра места происшествия"],
        ["цепочка хранения улик", "цепочки хранения улик"],
      ],
      zh: ["法医证据", "犯罪现场管理", "证据保管链"],
    },
    tags: {
      en: ["forensics", "evidence"],
      fr: ["police scientifique", "preuves"],
      ar: ["الأدلة", "مسرح الجريمة"],
      ru: ["криминалистика", "доказательства"],
      zh: ["法医", "证据"],
    },
  },
  {
    slug: "border-checks",
    competency: "bor-1",
    phrases: {
      en: ["border checks", "border management", "integrated border management"],
      fr: ["les contrôles aux frontières", "la gestion des frontières", "la gestion intégrée des frontières"],
      ar: ["التحقق على الحدود", "إدارة الحدود", "الإدارة المتكاملة للحدود"],
      ru: [
        ["пограничный контроль", "пограничного контроля"],
        ["управление границами", "управления границами"],
        ["комплексное управление границами", "комплексного управления границами"],
      ],
      zh: ["边境检查", "边境管理", "综合边境管理"],
    },
    tags: {
      en: ["border", "checks"],
      fr: ["frontières", "contrôles"],
      ar: ["الحدود", "التفتيش"],
      ru: ["граница", "контроль"],
      zh: ["边境", "检查"],
    },
  },
  {
    slug: "document-fraud",
    competency: "bor-1.1",
    phrases: {
      en: ["document fraud", "forged travel documents", "document examination"],
      fr: ["la fraude documentaire", "les faux documents de voyage", "l'examen des documents"],
      ar: ["تزوير الوثائق", "وثائق السفر المزورة", "فحص الوثائق"],
      ru: [
        ["подделка документов", "подделки документов"],
        ["поддельные проездные документы", "поддельных проездных документов"],
        ["проверка документов", "проверки документов"],
      ],
      zh: ["证件欺诈", "伪造旅行证件", "证件检验"],
    },
    tags: {
      en: ["document fraud", "passports"],
      fr: ["fraude documentaire", "passeports"],
      ar: ["التزوير", "جوازات السفر"],
      ru: ["подделка", "паспорта"],
      zh: ["伪造证件", "护照"],
    },
  },
  {
    slug: "trafficking",
    competency: "bor-2",
    phrases: {
      en: ["trafficking in human beings", "migrant smuggling", "protection of asylum seekers"],
      fr: ["la traite des êtres humains", "le trafic de migrants", "la protection des demandeurs d'asile"],
      ar: ["الاتجار بالبشر", "تهريب المهاجرين", "حماية طالبي اللجوء"],
      ru: [
        ["торговля людьми", "торговли людьми"],
        ["незаконный ввоз мигрантов", "незаконного ввоза мигрантов"],
        ["защита просителей убежища", "защиты просителей убежища"],
      ],
      zh: ["贩运人口", "偷运移民", "保护寻求庇护者"],
    },
    tags: {
      en: ["trafficking", "migration"],
      fr: ["traite", "migration"],
      ar: ["الاتجار بالبشر", "الهجرة"],
      ru: ["торговля людьми", "миграция"],
      zh: ["人口贩运", "移民"],
    },
  },
  {
    slug: "gbv",
    competency: "gbv-1",
    phrases: {
      en: ["gender-based violence", "sexual violence", "a survivor-centred approach"],
      fr: ["les violences basées sur le genre", "les violences sexuelles", "l'approche centrée sur les survivantes"],
      ar: ["العنف القائم على النوع الاجتماعي", "العنف الجنسي", "النهج المتمحور حول الناجيات"],
      ru: [
        ["гендерное насилие", "гендерного насилия"],
        ["сексуальное насилие", "сексуального насилия"],
        ["подход, ориентированный на пострадавших", "подхода, ориентированного на пострадавших"],
      ],
      zh: ["基于性别的暴力", "性暴力", "以幸存者为中心的方法"],
    },
    tags: {
      en: ["gbv", "gender"],
      fr: ["vbg", "genre"],
      ar: ["العنف الجنسي", "النوع الاجتماعي"],
      ru: ["гендерное насилие", "гендер"],
      zh: ["性别暴力", "性别"],
    },
  },
  {
    slug: "referral",
    competency: "gbv-1.1",
    phrases: {
      en: ["referral pathways", "support for survivors", "specialised police units for women and children"],
      fr: [
        "les circuits de référencement",
        "l'accompagnement des survivantes",
        "les unités spécialisées pour les femmes et les enfants",
      ],
      ar: ["مسارات الإحالة", "دعم الناجيات", "وحدات الشرطة المتخصصة بالنساء والأطفال"],
      ru: [
        ["механизмы перенаправления", "механизмов перенаправления"],
        ["поддержка пострадавших", "поддержки пострадавших"],
        [
          "специализированные подразделения по делам женщин и детей",
          "специализированных подразделений по делам женщин и детей",
        ],
      ],
      zh: ["转介机制", "幸存者支持", "妇女儿童专门警务单位"],
    },
    tags: {
      en: ["referral", "survivors"],
      fr: ["référencement", "survivantes"],
      ar: ["الإحالة", "الناجيات"],
      ru: ["перенаправление", "пострадавшие"],
      zh: ["转介", "幸存者"],
    },
  },
  {
    slug: "domestic-violence",
    competency: "gbv-2",
    phrases: {
      en: ["domestic violence", "protection orders", "responding to domestic violence calls"],
      fr: [
        "les violences conjugales",
        "les ordonnances de protection",
        "l'intervention en cas de violences conjugales",
      ],
      ar: ["العنف الأسري", "أوامر الحماية", "الاستجابة لبلاغات العنف الأسري"],
      ru: [
        ["домашнее насилие", "домашнего насилия"],
        ["охранные ордера", "охранных ордеров"],
        ["реагирование на вызовы о домашнем насилии", "реагирования на вызовы о домашнем насилии"],
      ],
      zh: ["家庭暴力", "保护令", "处置家庭暴力报警"],
    },
    tags: {
      en: ["domestic violence", "protection"],
      fr: ["violences conjugales", "protection"],
      ar: ["العنف الأسري", "الحماية"],
      ru: ["домашнее насилие", "защита"],
      zh: ["家庭暴力", "保护"],
    },
  },
  {
    slug: "community-policing",
    competency: "pol-1",
    phrases: {
      en: ["community policing", "police-community relations", "neighbourhood patrols"],
      fr: ["la police de proximité", "les relations entre la police et la population", "les patrouilles de quartier"],
      ar: ["الشرطة المجتمعية", "العلاقة بين الشرطة والمجتمع", "الدوريات في الأحياء"],
      ru: [
        ["общественная полиция", "общественной полиции"],
        ["взаимодействие полиции с населением", "взаимодействия полиции с населением"],
        ["патрулирование микрорайонов", "патрулирования микрорайонов"],
      ],
      zh: ["社区警务", "警民关系", "社区巡逻"],
    },
    tags: {
      en: ["community policing", "trust"],
      fr: ["police de proximité", "confiance"],
      ar: ["الشرطة المجتمعية", "الثقة"],
      ru: ["общественная полиция", "доверие"],
      zh: ["社区警务", "信任"],
    },
  },
];

function phrasesOf(topic: Topic, language: Language): Phrase[] {
  if (language === "ru") return topic.phrases.ru.map(([nom, gen]) => ({ nom, gen }));
  return topic.phrases[language].map((p) => ({ nom: p, gen: p }));
}

/** What a case's sentences are written from. */
export interface Slots {
  t1: Phrase;
  t2: Phrase;
  /** Where it happened, with its preposition (Chinese: the place alone). */
  where: string;
  actor: string;
  year: number;
  days: number;
  n: number;
  pct: number;
  points: number;
  sessions: number;
  size: number;
}

type Template = (s: Slots) => string;

interface Writing {
  where: readonly string[];
  actors: readonly string[];
  titles: readonly Template[];
  summaries: readonly Template[];
  headings: readonly [string, string, string, string];
  /** Sentences for each section: context, what happened, results, lessons. */
  sections: readonly [readonly Template[], readonly Template[], readonly Template[], readonly Template[]];
  evidence: readonly string[];
  revised: string;
  revision: Template;
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const WRITING: Record<Language, Writing> = {
  en: {
    where: [
      "at a regional prison",
      "at a pre-trial detention centre",
      "at a land border crossing",
      "at an international airport",
      "in a district police station",
      "in a gendarmerie brigade",
      "at the national police academy",
      "in a refugee camp",
    ],
    actors: [
      "prison officers",
      "border guards",
      "police investigators",
      "gendarmes",
      "custody officers",
      "community police officers",
    ],
    titles: [
      (s) => `${cap(s.t1.nom)} ${s.where}`,
      (s) => `${cap(s.t1.nom)} and ${s.t2.nom}`,
      (s) => `Training ${s.actor} in ${s.t1.nom}`,
      (s) => `Improving ${s.t1.nom} ${s.where}`,
      (s) => `${cap(s.t1.nom)}: an assessment checklist for trainers`,
    ],
    summaries: [
      (s) => `How ${s.actor} ${s.where} reduced incidents after a ${s.days}-day course on ${s.t1.nom}.`,
      (s) => `A ${s.days}-day course on ${s.t1.nom} and ${s.t2.nom}, evaluated with ${s.n} participants.`,
      () => "A peer-reviewed account of practice, with indicators for follow-up.",
      (s) => `What worked, and what did not, when ${s.actor} changed their approach to ${s.t1.nom}.`,
    ],
    headings: ["Context", "What happened", "Results", "Lessons learned"],
    sections: [
      [
        (s) => `In ${s.year}, ${s.actor} ${s.where} reported recurring problems with ${s.t1.nom}.`,
        (s) => `An assessment by the inspectorate found gaps in ${s.t1.nom} and in ${s.t2.nom}.`,
        (s) => `Most of the ${s.n} staff had received no refresher training on ${s.t1.nom} since their basic course.`,
      ],
      [
        (s) => `The training combined scenario-based exercises on ${s.t1.nom} with short sessions on ${s.t2.nom}.`,
        () => "Trainers used role plays, video review and case discussions drawn from local incidents.",
        () => "Supervisors were coached to debrief every incident within 48 hours.",
        (s) => `A mobile team delivered the course in ${s.sessions} sessions of ${s.size} participants each.`,
      ],
      [
        (s) => `Recorded incidents fell by ${s.pct}% within a year.`,
        () => "Complaints decreased and the oversight body noted better record-keeping.",
        (s) => `Post-course tests showed an average improvement of ${s.points} points.`,
      ],
      [
        () => "Management support mattered more than the length of the course.",
        () => "Local trainers should be certified before the programme is scaled up.",
        (s) => `Guidance on ${s.t2.nom} must be written into the standard operating procedures.`,
      ],
    ],
    evidence: ["Evaluation report", "Training curriculum", "Inspection report"],
    revised: " (revised)",
    revision: (s) => `Revised in ${s.year + 1} after a follow-up visit on ${s.t2.nom}.`,
  },
  fr: {
    where: [
      "dans une prison régionale",
      "dans une maison d'arrêt",
      "à un poste frontière terrestre",
      "dans un aéroport international",
      "dans un commissariat de district",
      "dans une brigade de gendarmerie",
      "à l'école nationale de police",
      "dans un camp de réfugiés",
    ],
    actors: [
      "les agents pénitentiaires",
      "les garde-frontières",
      "les enquêteurs de police",
      "les gendarmes",
      "les officiers de police judiciaire",
      "les policiers de proximité",
    ],
    titles: [
      (s) => `${cap(s.t1.nom)} ${s.where}`,
      (s) => `${cap(s.t1.nom)} et ${s.t2.nom}`,
      (s) => `Former ${s.actor} sur ${s.t1.nom}`,
      (s) => `Améliorer ${s.t1.nom} ${s.where}`,
      (s) => `${cap(s.t1.nom)} : une grille d'évaluation pour les formateurs`,
    ],
    summaries: [
      (s) =>
        `Comment ${s.actor} ${s.where} ont réduit les incidents grâce à une formation de ${s.days} jours sur ${s.t1.nom}.`,
      (s) => `Une formation de ${s.days} jours sur ${s.t1.nom} et ${s.t2.nom}, évaluée auprès de ${s.n} participants.`,
      () => "Un retour d'expérience évalué par les pairs, avec des indicateurs de suivi.",
      (s) => `Ce qui a fonctionné, et ce qui n'a pas fonctionné, lorsque ${s.actor} ont changé leur approche.`,
    ],
    headings: ["Contexte", "Déroulement", "Résultats", "Enseignements"],
    sections: [
      [
        (s) => `En ${s.year}, ${s.actor} ${s.where} ont signalé des problèmes récurrents concernant ${s.t1.nom}.`,
        (s) => `Une évaluation de l'inspection générale a relevé des lacunes concernant ${s.t1.nom} et ${s.t2.nom}.`,
        (s) =>
          `La plupart des ${s.n} agents n'avaient reçu aucune formation continue sur ${s.t1.nom} depuis leur formation initiale.`,
      ],
      [
        (s) => `La formation associait des mises en situation sur ${s.t1.nom} et de courtes séances sur ${s.t2.nom}.`,
        () =>
          "Les formateurs ont utilisé des jeux de rôle, l'analyse de vidéos et des études de cas tirées d'incidents locaux.",
        () => "Les superviseurs ont appris à organiser un débriefing dans les 48 heures après chaque incident.",
        (s) => `Une équipe mobile a dispensé la formation en ${s.sessions} sessions de ${s.size} participants.`,
      ],
      [
        (s) => `Le nombre d'incidents enregistrés a baissé de ${s.pct} % en un an.`,
        () => "Les plaintes ont diminué et l'organe de contrôle a constaté une meilleure tenue des registres.",
        (s) => `Les tests après la formation ont montré une amélioration moyenne de ${s.points} points.`,
      ],
      [
        () => "Le soutien de la hiérarchie a compté davantage que la durée de la formation.",
        () => "Les formateurs locaux doivent être certifiés avant l'extension du programme.",
        (s) => `Les consignes sur ${s.t2.nom} doivent être intégrées aux procédures opérationnelles permanentes.`,
      ],
    ],
    evidence: ["Rapport d'évaluation", "Programme de formation", "Rapport d'inspection"],
    revised: " (version révisée)",
    revision: (s) => `Révisé en ${s.year + 1} après une visite de suivi sur ${s.t2.nom}.`,
  },
  ar: {
    where: [
      "في سجن إقليمي",
      "في مركز للاحتجاز السابق للمحاكمة",
      "في معبر حدودي بري",
      "في مطار دولي",
      "في مركز شرطة محلي",
      "في وحدة للدرك",
      "في أكاديمية الشرطة الوطنية",
      "في مخيم للاجئين",
    ],
    actors: ["حراس السجون", "حرس الحدود", "ضباط التحقيق", "عناصر الدرك", "ضباط الحجز", "أفراد الشرطة المجتمعية"],
    titles: [
      (s) => `${s.t1.nom} ${s.where}`,
      (s) => `${s.t1.nom} و${s.t2.nom}`,
      (s) => `تدريب ${s.actor} على ${s.t1.nom}`,
      (s) => `تحسين ${s.t1.nom} ${s.where}`,
      (s) => `${s.t1.nom}: أداة تقييم للمدربين`,
    ],
    summaries: [
      (s) => `كيف نجح ${s.actor} ${s.where} في الحد من الحوادث بعد دورة تدريبية مدتها ${s.days} أيام حول ${s.t1.nom}.`,
      (s) => `دورة تدريبية مدتها ${s.days} أيام حول ${s.t1.nom} و${s.t2.nom}، تم تقييمها مع ${s.n} مشاركاً.`,
      () => "تجربة خضعت لمراجعة الأقران، مع مؤشرات للمتابعة.",
      (s) => `ما الذي نجح وما الذي لم ينجح عندما غيّر ${s.actor} نهجهم في ${s.t1.nom}.`,
    ],
    headings: ["السياق", "ما حدث", "النتائج", "الدروس المستفادة"],
    sections: [
      [
        (s) => `في عام ${s.year}، أبلغ ${s.actor} ${s.where} عن مشاكل متكررة تتعلق ب${s.t1.nom}.`,
        (s) => `وجد تقييم أجرته هيئة التفتيش ثغرات في ${s.t1.nom} وفي ${s.t2.nom}.`,
        (s) => `لم يتلق معظم الموظفين البالغ عددهم ${s.n} أي تدريب تنشيطي حول ${s.t1.nom} منذ تدريبهم الأساسي.`,
      ],
      [
        (s) => `جمع التدريب بين تمارين قائمة على السيناريوهات حول ${s.t1.nom} وجلسات قصيرة حول ${s.t2.nom}.`,
        () => "استخدم المدربون لعب الأدوار وتحليل مقاطع الفيديو ودراسة حالات مستمدة من حوادث محلية.",
        () => "تدرّب المشرفون على إجراء جلسات استخلاص الدروس بعد كل حادث خلال 48 ساعة.",
        (s) => `قدّم فريق متنقل الدورة في ${s.sessions} جلسات ضمت كل منها ${s.size} مشاركاً.`,
      ],
      [
        (s) => `انخفض عدد الحوادث المسجلة بنسبة ${s.pct}% خلال عام واحد.`,
        () => "تراجعت الشكاوى ولاحظت هيئة الرقابة تحسناً في مسك السجلات.",
        (s) => `أظهرت الاختبارات بعد الدورة تحسناً متوسطه ${s.points} نقطة.`,
      ],
      [
        () => "كان دعم القيادة أهم من مدة الدورة.",
        () => "يجب اعتماد المدربين المحليين قبل توسيع البرنامج.",
        (s) => `ينبغي إدراج التوجيهات المتعلقة ب${s.t2.nom} في إجراءات التشغيل الموحدة.`,
      ],
    ],
    evidence: ["تقرير التقييم", "المنهج التدريبي", "تقرير التفتيش"],
    revised: " (نسخة منقحة)",
    revision: (s) => `نُقّحت في عام ${s.year + 1} بعد زيارة متابعة حول ${s.t2.nom}.`,
  },
  ru: {
    where: [
      "в региональной тюрьме",
      "в следственном изоляторе",
      "на сухопутном пограничном переходе",
      "в международном аэропорту",
      "в районном отделе полиции",
      "в патрульной службе",
      "в академии МВД",
      "в лагере беженцев",
    ],
    actors: [
      "сотрудники пенитенциарной системы",
      "пограничники",
      "следователи",
      "сотрудники патрульной полиции",
      "сотрудники изоляторов временного содержания",
      "участковые инспекторы",
    ],
    titles: [
      (s) => `${cap(s.t1.nom)} ${s.where}`,
      (s) => `${cap(s.t1.nom)} и ${s.t2.nom}`,
      (s) => `${cap(s.t1.nom)}: опыт подготовки кадров`,
      (s) => `Совершенствование ${s.t1.gen} ${s.where}`,
      (s) => `${cap(s.t1.nom)}: инструмент оценки для преподавателей`,
    ],
    summaries: [
      (s) =>
        `Как ${s.actor} ${s.where} сократили число инцидентов после ${s.days}-дневного курса по теме «${s.t1.nom}».`,
      (s) => `${s.days}-дневный курс по темам «${s.t1.nom}» и «${s.t2.nom}», оценённый с участием ${s.n} слушателей.`,
      () => "Опыт, прошедший экспертную оценку, с показателями для последующего мониторинга.",
      (s) => `Что сработало и что нет, когда ${s.actor} изменили подход к работе.`,
    ],
    headings: ["Контекст", "Что произошло", "Результаты", "Извлечённые уроки"],
    sections: [
      [
        (s) => `В ${s.year} году ${s.actor} ${s.where} сообщали о повторяющихся проблемах в области ${s.t1.gen}.`,
        (s) => `Проверка инспекции выявила пробелы в вопросах ${s.t1.gen} и ${s.t2.gen}.`,
        (s) =>
          `Большинство из ${s.n} сотрудников не проходили повышение квалификации по теме «${s.t1.nom}» со времени базового обучения.`,
      ],
      [
        (s) =>
          `Обучение сочетало ситуационные упражнения по вопросам ${s.t1.gen} с короткими занятиями по теме «${s.t2.nom}».`,
        () => "Преподаватели использовали ролевые игры, разбор видеозаписей и анализ местных инцидентов.",
        () => "Руководителей научили проводить разбор каждого инцидента в течение 48 часов.",
        (s) => `Мобильная группа провела курс в ${s.sessions} потоках по ${s.size} слушателей.`,
      ],
      [
        (s) => `Число зарегистрированных инцидентов снизилось на ${s.pct}% за год.`,
        () => "Количество жалоб уменьшилось, а надзорный орган отметил улучшение ведения документации.",
        (s) => `Тесты после курса показали среднее улучшение на ${s.points} баллов.`,
      ],
      [
        () => "Поддержка руководства оказалась важнее продолжительности курса.",
        () => "Местных преподавателей следует сертифицировать до расширения программы.",
        (s) => `Рекомендации в области ${s.t2.gen} необходимо включить в стандартные операционные процедуры.`,
      ],
    ],
    evidence: ["Отчёт об оценке", "Учебная программа", "Отчёт инспекции"],
    revised: " (пересмотренная версия)",
    revision: (s) => `Пересмотрено в ${s.year + 1} году после контрольного визита по вопросам ${s.t2.gen}.`,
  },
  zh: {
    where: ["地区监狱", "看守所", "陆路边境口岸", "国际机场", "区公安分局", "派出所", "警察学院", "难民营"],
    actors: ["监狱干警", "边防检查人员", "侦查人员", "巡警", "看守所民警", "社区民警"],
    titles: [
      (s) => `${s.where}${s.t1.nom}实践`,
      (s) => `${s.t1.nom}与${s.t2.nom}`,
      (s) => `${s.actor}${s.t1.nom}培训`,
      (s) => `提升${s.where}的${s.t1.nom}水平`,
      (s) => `${s.t1.nom}：培训师评估工具`,
    ],
    summaries: [
      (s) => `${s.where}的${s.actor}在参加为期${s.days}天的${s.t1.nom}培训后减少了相关事件。`,
      (s) => `为期${s.days}天的${s.t1.nom}和${s.t2.nom}课程，共有${s.n}名学员参加评估。`,
      () => "经同行评审的经验总结，附后续跟踪指标。",
      (s) => `${s.actor}改变${s.t1.nom}工作方法时，哪些做法有效，哪些无效。`,
    ],
    headings: ["背景", "经过", "成果", "经验教训"],
    sections: [
      [
        (s) => `${s.year}年，${s.where}的${s.actor}多次报告${s.t1.nom}方面的问题。`,
        (s) => `监察部门的评估发现${s.t1.nom}和${s.t2.nom}方面存在不足。`,
        (s) => `${s.n}名工作人员中，大多数自入职培训以来从未接受过${s.t1.nom}方面的复训。`,
      ],
      [
        (s) => `培训将${s.t1.nom}情景演练与${s.t2.nom}专题讲座相结合。`,
        () => "培训师采用角色扮演、视频复盘和本地案例研讨等方法。",
        () => "主管人员学会在每次事件发生后48小时内组织复盘。",
        (s) => `流动培训小组分${s.sessions}期开展培训，每期${s.size}名学员。`,
      ],
      [
        (s) => `一年内登记在案的相关事件减少了${s.pct}%。`,
        () => "投诉数量下降，监督机构注意到记录管理有所改善。",
        (s) => `培训后测试显示平均成绩提高了${s.points}分。`,
      ],
      [
        () => "领导层的支持比培训时长更为重要。",
        () => "在扩大项目规模之前，应对本地培训师进行认证。",
        (s) => `应将${s.t2.nom}相关指导纳入标准作业程序。`,
      ],
    ],
    evidence: ["评估报告", "培训大纲", "检查报告"],
    revised: "（修订版）",
    revision: (s) => `${s.year + 1}年回访${s.t2.nom}相关工作后修订。`,
  },
};

// ---------------------------------------------------------------------------------------------
// cases

/** A generated case: the hub that owns it, its index key (`hub/id`, as the node keys it) and the validated record. */
export interface GeneratedCase {
  hub: string;
  key: string;
  record: CaseRecord;
  /** What it was written from, to write a revision of it. */
  slots: Slots;
  language: Language;
}

/** Space (ASCII or ideographic) between sentences in a paragraph. */
const joinSentences = (language: Language, sentences: readonly string[]) =>
  sentences.join(language === "zh" ? "" : " ");

function hex(random: Random, digits: number): string {
  let out = "";
  while (out.length < digits)
    out += Math.floor(random.next() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, "0");
  return out.slice(0, digits);
}

function makeCase(random: Random, framework: Framework, hub: Hub, n: number): GeneratedCase {
  const language = random.weighted(hub.languages);
  const writing = WRITING[language];
  // A main topic and one or two others, usually close to it (the same domain).
  const main = random.pick(TOPICS);
  const domain = main.competency.split("-")[0] as string;
  const near = TOPICS.filter((t) => t !== main && t.competency.startsWith(`${domain}-`));
  const second =
    near.length > 0 && random.chance(0.6) ? random.pick(near) : random.pick(TOPICS.filter((t) => t !== main));
  const mainPhrases = phrasesOf(main, language);
  const t1 = random.pick(mainPhrases);
  const t2 = random.chance(0.5)
    ? random.pick(mainPhrases.filter((p) => p !== t1))
    : random.pick(phrasesOf(second, language));
  const slots: Slots = {
    t1,
    t2,
    where: random.pick(writing.where),
    actor: random.pick(writing.actors),
    year: random.int(2016, 2026),
    days: random.int(3, 10),
    n: random.int(12, 240),
    pct: random.int(8, 60),
    points: random.int(5, 35),
    sessions: random.int(3, 9),
    size: random.int(12, 30),
  };
  const summary = joinSentences(
    language,
    random.sample(writing.summaries, random.int(1, 2)).map((t) => t(slots)),
  );
  const sections = writing.sections.map((templates, i) => {
    // Some of the section's sentences, in their order.
    const chosen = new Set(random.sample(templates, random.int(2, templates.length)));
    const sentences = templates.filter((t) => chosen.has(t)).map((t) => t(slots));
    const paragraph =
      i === 3 && random.chance(0.4) ? sentences.map((s) => `- ${s}`).join("\n") : joinSentences(language, sentences);
    return `## ${writing.headings[i] as string}\n\n${paragraph}`;
  });
  // Competencies: the topics' items, sometimes a parent instead (a whole domain, say).
  const competencies = [
    ...new Set(
      [main.competency, ...(random.chance(0.5) ? [second.competency] : [])].map((c) =>
        random.chance(0.15) ? (framework.tree.parents(c)[0] ?? c) : c,
      ),
    ),
  ];
  const tags = [
    ...new Set([...main.tags[language], ...(random.chance(0.5) ? [random.pick(second.tags[language])] : [])]),
  ].slice(0, random.int(2, 3));
  const kind = random.weighted<CaseKind>([
    ["case-study", 40],
    ["best-practice", 25],
    ["lesson-learned", 20],
    ["evaluation-tool", 15],
  ]);
  const id = `${main.slug}-${String(n).padStart(4, "0")}`;
  const evidence = Array.from(
    {
      length: random.weighted([
        [0, 40],
        [1, 45],
        [2, 15],
      ] as const),
    },
    (_, e) => ({
      url: `https://${hub.id}.example.org/cases/${id}/annex-${e + 1}.pdf`,
      sha256: hex(random, 64),
      label: random.pick(writing.evidence),
    }),
  );
  const place = random.weighted([
    ["country", 65],
    ["subdivision", 25],
    ["none", 10],
  ] as const);
  const raw: RawCase = {
    id,
    kind,
    title: random.pick(writing.titles)(slots),
    summary,
    body: sections.join("\n\n"),
    // Mostly the bare language, sometimes with the hub's country (fr-SN, ru-KG): matched by primary subtag.
    language: random.chance(0.2) ? `${language}-${hub.country}` : language,
    country: place === "country" ? hub.country : place === "subdivision" ? random.pick(subdivisions(hub.country)) : "",
    region: random.chance(0.8) ? hub.region : "",
    competencies,
    tags,
    evidence,
    review: random.chance(0.4) ? "peer-reviewed" : "draft",
    visibility: random.chance(0.6) ? "public" : "internal",
  };
  const { value, violations } = validateCase(raw);
  if (violations.length > 0)
    throw new Error(
      `generated case ${hub.id}/${id} is invalid: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    );
  const updatedAt = new Date(Date.UTC(slots.year, random.int(0, 11), random.int(1, 28))).toISOString();
  return {
    hub: hub.id,
    key: `${hub.id}/${value.id}`,
    record: { ...value, updatedAt, updatedBy: `${hub.id}:editor-${random.int(1, 5)}` },
    slots,
    language,
  };
}

/** `perHub` cases for each hub in turn; a hub's first cases are the same whatever `perHub` is. */
export function makeCases(seed: number, framework: Framework, hubs: readonly Hub[], perHub: number): GeneratedCase[] {
  const out: GeneratedCase[] = [];
  for (const hub of hubs) {
    const random = new Random(seed * 1_000 + hub.index);
    for (let n = 1; n <= perHub; n += 1) out.push(makeCase(random, framework, hub, n));
  }
  return out;
}

/** The case as its hub edits it: title marked revised, a sentence added to the summary and the body, a tag more (validated again). */
export function revise(c: GeneratedCase, random: Random): CaseRecord {
  const writing = WRITING[c.language];
  const note = writing.revision(c.slots);
  const extraTag = random.pick(TOPICS).tags[c.language][0];
  const raw: RawCase = {
    ...c.record,
    title: c.record.title.endsWith(writing.revised) ? c.record.title : `${c.record.title}${writing.revised}`,
    summary: joinSentences(c.language, [c.record.summary, note]),
    body: `${c.record.body}\n\n${note}`,
    tags: [...new Set([...c.record.tags, extraTag])],
  };
  const { value, violations } = validateCase(raw);
  if (violations.length > 0)
    throw new Error(
      `revised case ${c.key} is invalid: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    );
  return {
    ...value,
    updatedAt: new Date(Date.UTC(c.slots.year + 1, 5, 1)).toISOString(),
    updatedBy: c.record.updatedBy,
  };
}

// ---------------------------------------------------------------------------------------------
// queries

/** What an operator types, in each language, and the competency it is about (for the competency filter). */
const QUERY_TEXTS: Record<Language, ReadonlyArray<readonly [string, string]>> = {
  en: [
    ["use of force detention", "uof"],
    ["de-escalation prison", "uof-1"],
    ["investigative interviewing suspects", "int"],
    ["border checks forged documents", "bor-1"],
    ["gender-based violence survivors", "gbv"],
    ["human rights monitoring", "hr"],
    ["torture prevension", "det"], // a typo: one edit from "prevention"
  ],
  fr: [
    ["recours à la force", "uof"],
    ["désescalade détention", "uof-1"],
    ["audition des suspects", "int"],
    ["contrôles aux frontières faux documents", "bor"],
    ["violences basees sur le genre", "gbv"], // no accent
    ["prévention de la torture", "det-2"],
    ["trafic de migrant", "bor-2"], // singular
  ],
  ar: [
    ["استخدام القوة في الاحتجاز", "uof"],
    ["خفض التصعيد", "uof-1"],
    ["استجواب المشتبه بهم", "int"],
    ["التحقق على الحدود", "bor"],
    ["العنف القائم على النوع الاجتماعي", "gbv"],
    ["منع التعذيب", "det"],
    ["حقوق الانسان", "hr"], // without the hamza
  ],
  ru: [
    ["применение силы", "uof"],
    ["предварительное заключение", "det-1"],
    ["допрос подозреваемых", "int"],
    ["пограничный контроль", "bor"],
    ["гендерное насилие", "gbv"],
    ["пытки", "det"],
    ["торговля людьми", "bor-2"],
  ],
  zh: [
    ["使用武力", "uof"],
    ["拘留期间使用武力", "uof"],
    ["讯问犯罪嫌疑人", "int"],
    ["边境检查", "bor"],
    ["基于性别的暴力", "gbv"],
    ["防止酷刑", "det"],
    ["人口贩运", "bor-2"],
  ],
};

/** The filters of the node's search (CaseSearch, without the text). */

export interface CaseQuery {
  language: Language;
  text: string;
  /** "none", or which filters it has (e.g. "competency+language+public"). */
  filter: string;
  filters: CaseFilters;
}

/**
 * Every text in each language twice: without filters, and with filters in turn — a competency (its
 * descendants count), a country, a subdivision, a region's name, the text's language, and
 * combinations (competency + language + public only; hub + kind).
 */
export function makeQueries(seed: number, hubs: readonly Hub[]): CaseQuery[] {
  const random = new Random(seed);
  const out: CaseQuery[] = [];
  let turn = 0;
  for (const language of LANGUAGES) {
    for (const [text, competency] of QUERY_TEXTS[language]) {
      out.push({ language, text, filter: "none", filters: {} });
      const hub = random.pick(hubs.filter((h) => h.languages.some(([l]) => l === language)));
      const choices: Array<[string, CaseFilters]> = [
        ["competency", { competency }],
        ["region:country", { region: hub.country }],
        ["language", { language }],
        ["region:name", { region: hub.region }],
        ["competency+language+public", { competency, language, publicOnly: true }],
        ["region:subdivision", { region: random.pick(subdivisions(hub.country)) }],
        ["hub+kind", { hub: hub.id, kind: random.pick(CASE_KINDS) }],
      ];
      const [filter, filters] = choices[turn % choices.length] as [string, CaseFilters];
      turn += 1;
      out.push({ language, text, filter, filters });
    }
  }
  return out;
}
