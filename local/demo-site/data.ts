/**
 * The demo site's deterministic data. The same inputs always give the same pages, so tests can
 * compute the records a collection must produce.
 */

export const CATALOG_CATEGORIES = ['tools', 'garden', 'kitchen', 'toys', 'books'] as const;
export const CATALOG_PAGES = 8;
export const PRODUCTS_PER_PAGE = 20;

export const RATE_BOARDS = [
  'majors',
  'nordics',
  'asia',
  'latam',
  'africa',
  'gulf',
  'eastern-europe',
  'oceania',
  'commodities',
  'crypto-free',
] as const;

/** A small, fast, seedable PRNG (mulberry32) so pages are identical across runs and machines. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(text: string): number {
  let hash = 2166136261;
  for (const char of text) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 16777619);
  }
  return hash >>> 0;
}

const ADJECTIVES = ['Sturdy', 'Compact', 'Classic', 'Bright', 'Quiet', 'Rapid', 'Gentle', 'Bold'];
const NOUNS: Record<(typeof CATALOG_CATEGORIES)[number], readonly string[]> = {
  tools: ['Hammer', 'Wrench', 'Drill', 'Saw', 'Level'],
  garden: ['Rake', 'Hose', 'Planter', 'Shears', 'Trowel'],
  kitchen: ['Kettle', 'Whisk', 'Skillet', 'Grater', 'Ladle'],
  toys: ['Kite', 'Puzzle', 'Robot', 'Yo-yo', 'Blocks'],
  books: ['Atlas', 'Almanac', 'Novel', 'Cookbook', 'Field Guide'],
};

export interface DemoProduct {
  readonly sku: string;
  readonly name: string;
  /** As displayed, e.g. `€1,234.50`. */
  readonly displayPrice: string;
  readonly priceCents: number;
  readonly currency: 'EUR';
  readonly inStock: boolean;
}

export function catalogPage(category: string, page: number): DemoProduct[] {
  const nouns = NOUNS[category as keyof typeof NOUNS];
  if (nouns === undefined) return [];
  const random = seeded(seedOf(`${category}:${page}`));
  return Array.from({ length: PRODUCTS_PER_PAGE }, (_, index) => {
    const number = (page - 1) * PRODUCTS_PER_PAGE + index + 1;
    const priceCents = 199 + Math.floor(random() * 250_000);
    const adjective = ADJECTIVES[Math.floor(random() * ADJECTIVES.length)] ?? 'Plain';
    const noun = nouns[Math.floor(random() * nouns.length)] ?? 'Thing';
    return {
      sku: `${category.slice(0, 3).toUpperCase()}-${String(number).padStart(4, '0')}`,
      name: `${adjective} ${noun}`,
      displayPrice: `€${(priceCents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`,
      priceCents,
      currency: 'EUR',
      inStock: random() > 0.2,
    };
  });
}

const BOARD_PAIRS: Record<(typeof RATE_BOARDS)[number], readonly string[]> = {
  majors: ['EUR/USD', 'USD/JPY', 'GBP/USD', 'USD/CHF'],
  nordics: ['EUR/SEK', 'EUR/NOK', 'EUR/DKK', 'EUR/ISK'],
  asia: ['USD/CNY', 'USD/INR', 'USD/KRW', 'USD/SGD'],
  latam: ['USD/BRL', 'USD/MXN', 'USD/CLP', 'USD/COP'],
  africa: ['USD/ZAR', 'USD/NGN', 'USD/KES', 'USD/EGP'],
  gulf: ['USD/AED', 'USD/SAR', 'USD/QAR', 'USD/KWD'],
  'eastern-europe': ['EUR/PLN', 'EUR/CZK', 'EUR/HUF', 'EUR/RON'],
  oceania: ['AUD/USD', 'NZD/USD', 'AUD/NZD', 'USD/FJD'],
  commodities: ['XAU/USD', 'XAG/USD', 'XPT/USD', 'XPD/USD'],
  'crypto-free': ['EUR/GBP', 'EUR/CHF', 'GBP/JPY', 'CHF/JPY'],
};

export interface DemoRate {
  readonly pair: string;
  /** As displayed, with four decimals. */
  readonly displayRate: string;
}

export function rateBoard(board: string): DemoRate[] {
  const pairs = BOARD_PAIRS[board as keyof typeof BOARD_PAIRS];
  if (pairs === undefined) return [];
  const random = seeded(seedOf(`rates:${board}`));
  return pairs.map((pair) => ({ pair, displayRate: (0.5 + random() * 150).toFixed(4) }));
}

/** The fixed "as of" date the rate boards display, so records are reproducible. */
export const RATES_AS_OF = '2026-11-27';
