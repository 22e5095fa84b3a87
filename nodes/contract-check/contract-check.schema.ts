export interface ContractCheckConfig {
  name?: string;
  /**
   * Which contract `msg.payload` must carry; `auto` accepts any of them and sets `msg.contract`.
   * @default "auto"
   */
  contract: 'auto' | 'inspection' | 'tags' | 'actions';
}
