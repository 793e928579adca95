// The dashboard's core sections, in navigation order; the shell adds the
// engage sections after these.

import { businesses } from './businesses.js';
import { staff } from './staff.js';
import { apiKeys } from './apikeys.js';
import { promos } from './promos.js';
import { banners } from './banners.js';
import { crossPromos } from './crosspromos.js';
import { commissions } from './commissions.js';
import { audit } from './audit.js';
import { integration, alerts } from './integration.js';
import { flags } from './flags.js';
import { ingest } from './ingest.js';

export const sections = [businesses, commissions, flags, staff, apiKeys, integration, ingest, promos, banners, crossPromos, audit, alerts];
